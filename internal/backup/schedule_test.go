package backup

import (
	"cmp"
	"context"
	"database/sql"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/jobs"
	"github.com/atrium-portal/atrium/internal/store/testdb"
)

// replica is one process's schedule and River client on the shared file.
type replica struct {
	s *Schedule
	c *jobs.Client[*sql.Tx]
}

// newReplica builds a schedule with p on db and a River client (which
// migrates River's tables) that works the backup queue when work is set,
// looking for jobs every poll (riverlocal.PollInterval when zero).
func newReplica(t *testing.T, db *sql.DB, p ScheduleParams, work bool, poll time.Duration) replica {
	t.Helper()
	s, err := NewSchedule(p)
	if err != nil {
		t.Fatal(err)
	}
	c, err := jobs.NewSQLite(context.Background(), db, jobs.Params{FetchPollInterval: poll}, s.JobQueue(work))
	if err != nil {
		t.Fatal(err)
	}
	s.SetJobs(c)
	return replica{s: s, c: c}
}

// run works the client and runs the schedule until ctx ends.
func (r replica) run(ctx context.Context) error {
	var wg sync.WaitGroup
	var serr error
	wg.Go(func() { serr = r.s.Run(ctx) })
	cerr := r.c.Run(ctx)
	wg.Wait()
	return cmp.Or(cerr, serr)
}

// TestScheduleOncePerSlot: two replicas scheduling on one database take
// one backup per slot between them.
func TestScheduleOncePerSlot(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.db")

	// A clock 300 ms before a slot boundary, running at real speed.
	const iv = time.Minute
	base := time.Now().Truncate(iv).Add(iv - 300*time.Millisecond)
	start := time.Now()
	clock := func() time.Time { return base.Add(time.Since(start)) }

	var runs atomic.Int32
	done := make(chan struct{}, 4)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for i := range 2 {
		r := newReplica(t, testdb.SQLiteAt(t, path).JobsDB(), ScheduleParams{
			Interval: iv, Now: clock,
			Status: func(context.Context) (Status, error) { return Status{}, nil },
			Run: func(context.Context, int64) error {
				runs.Add(1)
				done <- struct{}{}
				return nil
			},
		}, true, 0)
		wg.Go(func() {
			if err := r.run(ctx); err != nil {
				t.Errorf("replica %d: %v", i, err)
			}
		})
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("no backup ran at the slot")
	}
	// Both replicas have inserted the slot by now; give a duplicate time
	// to show up.
	time.Sleep(3 * time.Second)
	cancel()
	wg.Wait()
	if got := runs.Load(); got != 1 {
		t.Errorf("backups for one slot on two replicas: got %d, want 1", got)
	}
}

// TestScheduleCatchUp: a replica starting more than an interval after the
// last successful backup takes one at once; before the first backup ever
// it waits for the slot.
func TestScheduleCatchUp(t *testing.T) {
	for _, tc := range []struct {
		name string
		last *Run
		want bool
	}{
		{"missed", &Run{Finished: time.Now().Add(-25 * time.Hour)}, true},
		{"recent", &Run{Finished: time.Now().Add(-time.Hour)}, false},
		{"never", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := testdb.SQLite(t).JobsDB()
			ran := make(chan struct{}, 1)
			r := newReplica(t, db, ScheduleParams{
				Interval: 24 * time.Hour,
				Status:   func(context.Context) (Status, error) { return Status{LastSuccess: tc.last}, nil },
				Run: func(context.Context, int64) error {
					ran <- struct{}{}
					return nil
				},
			}, true, 0)
			ctx, cancel := context.WithCancel(context.Background())
			errc := make(chan error, 1)
			go func() { errc <- r.run(ctx) }()
			var got bool
			select {
			case <-ran:
				got = true
			case <-time.After(4 * time.Second):
			}
			cancel()
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("backup at start: got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestEnqueueWithoutSchedule: with no schedule (Interval 0) a worker still
// takes the backups queued with Enqueue, with their run ids, including
// ones queued by a replica that only inserts (an API replica, never
// started).
func TestEnqueueWithoutSchedule(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.db")
	got := make(chan int64, 4)
	params := ScheduleParams{
		Status: func(context.Context) (Status, error) { return Status{}, nil },
		Run: func(_ context.Context, runID int64) error {
			got <- runID
			return nil
		},
	}
	w := newReplica(t, testdb.SQLiteAt(t, path).JobsDB(), params, true, 0)
	api := newReplica(t, testdb.SQLiteAt(t, path).JobsDB(), params, false, 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := w.run(ctx); err != nil {
			t.Errorf("worker: %v", err)
		}
	})
	if err := api.s.Enqueue(ctx, 41); err != nil {
		t.Fatal(err)
	}
	if err := w.s.Enqueue(ctx, 42); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for len(ids) < 2 {
		select {
		case id := <-got:
			ids = append(ids, id)
		case <-time.After(20 * time.Second):
			t.Fatalf("queued backups run: got %v, want 41 and 42", ids)
		}
	}
	cancel()
	wg.Wait()
	if !(ids[0] == 41 && ids[1] == 42) && !(ids[0] == 42 && ids[1] == 41) {
		t.Errorf("run ids: got %v, want 41 and 42", ids)
	}
}

// TestEnqueueFetchesAtOnce: on SQLite a queued backup is fetched when it is
// inserted, not at the next poll. The poll interval here is an hour, and the
// second job is queued after the client has started (the first one ran),
// so only the in-process fetch after the insert can start it.
func TestEnqueueFetchesAtOnce(t *testing.T) {
	db := testdb.SQLite(t).JobsDB()
	got := make(chan int64, 4)
	r := newReplica(t, db, ScheduleParams{
		Status: func(context.Context) (Status, error) { return Status{}, nil },
		Run: func(_ context.Context, runID int64) error {
			got <- runID
			return nil
		},
	}, true, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := r.run(ctx); err != nil {
			t.Errorf("run: %v", err)
		}
	})
	for _, id := range []int64{7, 8} {
		if err := r.s.Enqueue(ctx, id); err != nil {
			t.Fatal(err)
		}
		select {
		case run := <-got:
			if run != id {
				t.Errorf("run id: got %d, want %d", run, id)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("backup %d queued with an hour's poll interval did not run", id)
		}
	}
	cancel()
	wg.Wait()
}
