package plugintest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/atrium-portal/atrium/internal/operations"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/store/sqlite"
	"github.com/atrium-portal/atrium/plugin"
)

// Operations is Atrium's own operations store on a private SQLite
// database, for tests of actions that keep long-running work: hand
// For(…) to ActionRequest.Operations, run the action, stop it, run it
// again with the same task and step, and check that it resumed.
type Operations struct {
	svc *operations.Service
}

// NewOperations returns an empty operations store that lives until the
// test ends.
func NewOperations(t testing.TB) *Operations {
	t.Helper()
	db, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "operations.db")})
	if err != nil {
		t.Fatalf("plugintest: opening the operations database: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("plugintest: migrating the operations database: %v", err)
	}
	return &Operations{svc: &operations.Service{Store: db}}
}

// For returns the plugin.Operations of one step of a task, as Atrium
// hands it to the plugin's action.
func (o *Operations) For(pluginID, taskID, stepID string) plugin.Operations {
	return o.svc.For(pluginID, taskID, stepID)
}

// List returns the operations of a task, newest first.
func (o *Operations) List(t testing.TB, taskID string) []plugin.Operation {
	t.Helper()
	ops, _, err := o.svc.List(context.Background(), store.OperationListParams{TaskID: taskID})
	if err != nil {
		t.Fatalf("plugintest: listing operations: %v", err)
	}
	return ops
}

// Cancel cancels an operation as a person does through the API.
func (o *Operations) Cancel(t testing.TB, id string) plugin.Operation {
	t.Helper()
	op, err := o.svc.Cancel(context.Background(), id)
	if err != nil {
		t.Fatalf("plugintest: cancelling operation %s: %v", id, err)
	}
	return op
}
