package engine

import "testing"

// TestPassWorkersLeaveTheWriterAProcessor checks that a pass processes on
// one worker fewer while a write is in flight, never on fewer than one.
func TestPassWorkersLeaveTheWriterAProcessor(t *testing.T) {
	finished := &pendingWrite{done: make(chan struct{})}
	close(finished.done)
	running := &pendingWrite{done: make(chan struct{})}
	defer close(running.done)
	tests := []struct {
		name     string
		workers  int
		inflight *pendingWrite
		want     int
	}{
		{"no write", 4, nil, 4},
		{"write running", 4, running, 3},
		{"write finished", 4, finished, 4},
		{"one worker, write running", 1, running, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &pass{e: &Engine{workers: tt.workers}, inflight: tt.inflight}
			if got := p.workers(); got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
}
