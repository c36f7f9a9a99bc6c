package main

import (
	"os"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		name    string
		stat    string
		want    float64
		wantErr bool
	}{
		{"plain", "42 (atrium) S 1 42 42 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 8 0", 3.25, false},
		{"spaces and parens in the name", "42 (a (b) c) R 1 42 42 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0", 0.10, false},
		{"no name", "42 atrium S 1", 0, true},
		{"short", "42 (atrium) S 1 2 3", 0, true},
		{"not a number", "42 (atrium) S 1 42 42 0 -1 0 0 0 0 0 x 3 0", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatCPU(tt.stat)
			if (err != nil) != tt.wantErr {
				t.Fatalf("got error %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestProcCPUSecondsOfSelf(t *testing.T) {
	// Burn a little CPU so that the figure cannot be zero.
	x := 0
	for i := range 50_000_000 {
		x += i % 7
	}
	got, err := procCPUSeconds(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if got <= 0 || x < 0 {
		t.Errorf("got %v CPU seconds, want more than 0", got)
	}
}

// TestWaitIdleWaitsForBusy: an idle process is not settled while busy
// reports work elsewhere (PostgreSQL building indexes after a load).
func TestWaitIdleWaitsForBusy(t *testing.T) {
	calls := 0
	busy := func() bool { calls++; return calls <= 2 }
	waited := waitIdle(os.Getpid(), time.Minute, busy)
	// Two busy seconds, then three quiet ones: at least five seconds.
	if waited < 5*time.Second || calls < 5 {
		t.Fatalf("waited %v over %d checks, want at least 5 s and 5 checks", waited, calls)
	}
}
