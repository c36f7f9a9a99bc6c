package jobs

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/atrium-portal/atrium/internal/store/testdb"
)

type pingArgs struct {
	N int `json:"n"`
}

func (pingArgs) Kind() string                 { return "test_ping" }
func (pingArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: "ping"} }

type pongArgs struct {
	N int `json:"n"`
}

func (pongArgs) Kind() string                 { return "test_pong" }
func (pongArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: "pong"} }

type fnWorker[T river.JobArgs] struct {
	river.WorkerDefaults[T]
	fn func(T)
}

func (w *fnWorker[T]) Work(_ context.Context, job *river.Job[T]) error {
	w.fn(job.Args)
	return nil
}

// queues returns the ping and pong queues, worked when work is set, whose
// jobs report on got.
func queues(work bool, got chan<- string) []Queue {
	n := 0
	if work {
		n = 1
	}
	return []Queue{
		{Name: "ping", MaxWorkers: n, Register: func(w *river.Workers) {
			river.AddWorker(w, &fnWorker[pingArgs]{fn: func(pingArgs) { got <- "ping" }})
		}},
		{Name: "pong", MaxWorkers: n, Register: func(w *river.Workers) {
			river.AddWorker(w, &fnWorker[pongArgs]{fn: func(pongArgs) { got <- "pong" }})
		}},
	}
}

// TestOneClientWorksEveryQueue: one client works the jobs of both queues,
// including those an insert-only client (no queue worked, never started)
// queued on the same file, and refuses a kind no queue registered.
func TestOneClientWorksEveryQueue(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	path := filepath.Join(t.TempDir(), "jobs.db")
	got := make(chan string, 8)
	worker, err := NewSQLite(ctx, testdb.SQLiteAt(t, path).JobsDB(), Params{}, queues(true, got)...)
	if err != nil {
		t.Fatal(err)
	}
	inserter, err := NewSQLite(ctx, testdb.SQLiteAt(t, path).JobsDB(), Params{}, queues(false, got)...)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := worker.Run(ctx); err != nil {
			t.Errorf("worker: %v", err)
		}
	})
	wg.Go(func() {
		if err := inserter.Run(ctx); err != nil {
			t.Errorf("inserter: %v", err)
		}
	})
	for _, args := range []river.JobArgs{pingArgs{1}, pongArgs{2}} {
		if err := worker.Insert(ctx, args); err != nil {
			t.Fatal(err)
		}
	}
	if err := inserter.Insert(ctx, pingArgs{3}); err != nil {
		t.Fatal(err)
	}
	if err := worker.Insert(ctx, unknownArgs{}); err == nil {
		t.Error("inserting a kind no queue registered: got no error")
	}
	count := map[string]int{}
	for range 3 {
		select {
		case q := <-got:
			count[q]++
		case <-time.After(30 * time.Second):
			t.Fatalf("jobs worked: got %v, want ping 2, pong 1", count)
		}
	}
	cancel()
	wg.Wait()
	if count["ping"] != 2 || count["pong"] != 1 {
		t.Errorf("jobs worked: got %v, want ping 2, pong 1", count)
	}
}

type unknownArgs struct{}

func (unknownArgs) Kind() string { return "test_unknown" }
