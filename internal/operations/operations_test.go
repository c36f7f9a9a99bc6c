package operations_test

import (
	"context"
	"testing"

	"github.com/atrium-portal/atrium/internal/app/apptest"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/operations"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/store/testdb"
	"github.com/atrium-portal/atrium/plugin"
)

// engines runs f on SQLite, and on PostgreSQL when ATRIUM_TEST_POSTGRES
// is set.
func engines(t *testing.T, f func(t *testing.T, d store.Driver)) {
	t.Run("sqlite", func(t *testing.T) { f(t, testdb.SQLite(t)) })
	if dsn := apptest.PostgresDSN(t); dsn != "" {
		t.Run("postgres", func(t *testing.T) { f(t, testdb.PostgresAt(t, dsn)) })
	}
}

// TestCancelTask: cancelling a task cancels its operations that nobody
// follows at once, asks running ones to cancel (and cancels the task of a
// running one cancelled on its own), leaves final ones and other tasks'
// alone.
func TestCancelTask(t *testing.T) {
	engines(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		var cancelledTasks []string
		svc := &operations.Service{Store: d, CancelTask: func(_ context.Context, id string) error {
			cancelledTasks = append(cancelledTasks, id)
			return nil
		}}
		ops := svc.For("awx", "task-1", "launch")
		begin := func(ops plugin.Operations, kind string, state plugin.OperationState) plugin.Operation {
			t.Helper()
			op, resumed, err := ops.Begin(ctx, plugin.OperationStart{System: "awx:test", Kind: kind})
			if err != nil || resumed {
				t.Fatalf("Begin(%s): %+v, %v, %v", kind, op, resumed, err)
			}
			if state != plugin.OperationPending {
				if op, err = ops.Update(ctx, op.ID, plugin.OperationUpdate{State: state}); err != nil {
					t.Fatal(err)
				}
			}
			return op
		}
		pending := begin(ops, "pending-job", plugin.OperationPending)
		waiting := begin(ops, "waiting-job", plugin.OperationWaitingRetry)
		running := begin(ops, "running-job", plugin.OperationRunning)
		done := begin(ops, "done-job", plugin.OperationSucceeded)
		other := begin(svc.For("awx", "task-2", "launch"), "job", plugin.OperationRunning)

		if err := svc.CancelTaskOperations(ctx, "task-1"); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			op     plugin.Operation
			state  plugin.OperationState
			cancel bool
		}{
			{pending, plugin.OperationCancelled, true},
			{waiting, plugin.OperationCancelled, true},
			{running, plugin.OperationRunning, true},
			{done, plugin.OperationSucceeded, false},
			{other, plugin.OperationRunning, false},
		} {
			got, err := svc.Get(ctx, tc.op.ID)
			if err != nil || got.State != tc.state || got.CancelRequested != tc.cancel {
				t.Errorf("%s: got %s (cancel requested %v), %v; want %s (%v)", tc.op.Kind, got.State, got.CancelRequested, err, tc.state, tc.cancel)
			}
		}
		// The running one, resumed by its step, says it should cancel.
		if op, resumed, err := ops.Begin(ctx, plugin.OperationStart{System: "awx:test", Kind: "running-job"}); err != nil || !resumed || !op.CancelRequested {
			t.Errorf("resume of the running job: %+v, %v, %v; want it resumed with cancel requested", op, resumed, err)
		}
		// Cancelled on its own, a running operation cancels its task.
		if _, err := svc.Cancel(ctx, other.ID); err != nil {
			t.Fatal(err)
		}
		if len(cancelledTasks) != 1 || cancelledTasks[0] != "task-2" {
			t.Errorf("tasks cancelled: got %v, want [task-2]", cancelledTasks)
		}
		if _, err := svc.Cancel(ctx, done.ID); fault.KindOf(err) != fault.Conflict {
			t.Errorf("cancel of a succeeded operation: got %v, want a conflict", err)
		}
		// A cancelled step's operation is not resumed: a retried step
		// starts anew.
		again, resumed, err := ops.Begin(ctx, plugin.OperationStart{System: "awx:test", Kind: "pending-job"})
		if err != nil || resumed || again.ID == pending.ID || again.State != plugin.OperationPending {
			t.Errorf("Begin after cancel: %+v, %v, %v; want a new pending operation", again, resumed, err)
		}
	})
}
