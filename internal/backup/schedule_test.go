package backup

import (
	"context"
	"database/sql"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/atrium-portal/atrium/internal/riverlocal"
)

// openReplicaDB opens the shared SQLite file as one replica's connection.
func openReplicaDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

// TestScheduleOncePerSlot: two replicas scheduling on one database take
// one backup per slot between them.
func TestScheduleOncePerSlot(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.db")
	first := openReplicaDB(t, path)
	m, err := rivermigrate.New(riversqlite.New(first), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Migrate(context.Background(), rivermigrate.DirectionUp, nil); err != nil {
		t.Fatal(err)
	}

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
	for i, db := range []*sql.DB{first, openReplicaDB(t, path)} {
		s, err := NewSQLiteSchedule(db, ScheduleParams{
			Interval: iv, Now: clock,
			Status: func(context.Context) (Status, error) { return Status{}, nil },
			Run: func(context.Context, int64) error {
				runs.Add(1)
				done <- struct{}{}
				return nil
			},
		})
		if err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
		wg.Go(func() {
			if err := s.Run(ctx); err != nil {
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
			path := filepath.Join(t.TempDir(), "jobs.db")
			db := openReplicaDB(t, path)
			m, _ := rivermigrate.New(riversqlite.New(db), nil)
			if _, err := m.Migrate(context.Background(), rivermigrate.DirectionUp, nil); err != nil {
				t.Fatal(err)
			}
			ran := make(chan struct{}, 1)
			s, err := NewSQLiteSchedule(db, ScheduleParams{
				Interval: 24 * time.Hour,
				Status:   func(context.Context) (Status, error) { return Status{LastSuccess: tc.last}, nil },
				Run: func(context.Context, int64) error {
					ran <- struct{}{}
					return nil
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			errc := make(chan error, 1)
			go func() { errc <- s.Run(ctx) }()
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
	worker := openReplicaDB(t, path)
	m, err := rivermigrate.New(riversqlite.New(worker), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Migrate(context.Background(), rivermigrate.DirectionUp, nil); err != nil {
		t.Fatal(err)
	}
	got := make(chan int64, 4)
	params := ScheduleParams{
		Status: func(context.Context) (Status, error) { return Status{}, nil },
		Run: func(_ context.Context, runID int64) error {
			got <- runID
			return nil
		},
	}
	w, err := NewSQLiteSchedule(worker, params)
	if err != nil {
		t.Fatal(err)
	}
	api, err := NewSQLiteSchedule(openReplicaDB(t, path), params)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := w.Run(ctx); err != nil {
			t.Errorf("worker: %v", err)
		}
	})
	if err := api.Enqueue(ctx, 41); err != nil {
		t.Fatal(err)
	}
	if err := w.Enqueue(ctx, 42); err != nil {
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
	db := openReplicaDB(t, filepath.Join(t.TempDir(), "jobs.db"))
	m, err := rivermigrate.New(riversqlite.New(db), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Migrate(context.Background(), rivermigrate.DirectionUp, nil); err != nil {
		t.Fatal(err)
	}
	got := make(chan int64, 4)
	s, err := newSchedule(riverlocal.SQLite(db), ScheduleParams{
		Status: func(context.Context) (Status, error) { return Status{}, nil },
		Run: func(_ context.Context, runID int64) error {
			got <- runID
			return nil
		},
	}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := s.Run(ctx); err != nil {
			t.Errorf("run: %v", err)
		}
	})
	for _, id := range []int64{7, 8} {
		if err := s.Enqueue(ctx, id); err != nil {
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
