package postgres

import (
	"context"
	"slices"
	"testing"

	"github.com/atrium-portal/atrium/internal/store"
)

// TestTaskEventsCommitInIDOrder checks that a reader following one task's
// events by id (the scaffolder's long-poll and SSE streams) misses none of
// them: while one transaction has appended an event to a task and not yet
// committed, another append to the same task must not take a higher id and
// commit first. Before the append locked the task row, the second append
// took the next id and committed at once; a reader then saw it, advanced
// past it, and never saw the first event once it committed.
func TestTaskEventsCommitInIDOrder(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	if err := db.TaskCreate(ctx, store.Task{ID: "t1", TemplateRef: "template:default/x", Status: "open", Spec: []byte("{}"), State: []byte("{}")}); err != nil {
		t.Fatal(err)
	}

	tx, err := db.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	var txPID int
	if err := tx.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&txPID); err != nil {
		t.Fatal(err)
	}
	if _, err := appendTaskEvent(ctx, tx, store.TaskEvent{TaskID: "t1", Type: "log", Body: []byte(`{"message":"first"}`)}); err != nil {
		t.Fatal(err)
	}

	second := make(chan error, 1)
	go func() {
		_, err := db.TaskEventAppend(ctx, store.TaskEvent{TaskID: "t1", Type: "log", Body: []byte(`{"message":"second"}`)})
		second <- err
	}()
	// The second append either finishes (the bug) or waits for the first
	// transaction: wait for one of the two, with no clock involved.
	finished := false
	for !finished {
		select {
		case err := <-second:
			if err != nil {
				t.Fatal(err)
			}
			finished = true
			continue
		default:
		}
		var waiting int
		if err := db.pool.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))", txPID).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
	}

	// A reader polls while the first transaction is open, then after it
	// commits, advancing its cursor past what it saw.
	var after int64
	var seen []string
	read := func() {
		t.Helper()
		evs, err := db.TaskEventList(ctx, "t1", after, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			seen = append(seen, string(e.Body))
			after = e.ID
		}
	}
	read()
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if !finished {
		if err := <-second; err != nil {
			t.Fatal(err)
		}
	}
	read()
	want := []string{`{"message":"first"}`, `{"message":"second"}`}
	if !slices.Equal(seen, want) {
		t.Errorf("reader saw %v, want %v", seen, want)
	}
}
