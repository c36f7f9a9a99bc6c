package scaffolder_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/scaffolder"
	"github.com/atrium-portal/atrium/internal/scaffolder/tmpl"
	"github.com/atrium-portal/atrium/internal/secrets"
	"github.com/atrium-portal/atrium/internal/store/testdb"
	"github.com/atrium-portal/atrium/plugin"
)

// panickingAction is a built-in plugin's action with a bug.
type panickingAction struct{}

func (panickingAction) ID() string          { return "acme:boom" }
func (panickingAction) Description() string { return "Panics." }
func (panickingAction) Schema() (json.RawMessage, json.RawMessage) {
	return json.RawMessage(`{"type":"object"}`), nil
}
func (panickingAction) Run(context.Context, plugin.ActionRequest, plugin.ActionReporter) error {
	var m map[string]string
	m["token=s3cret"] = "x" // a nil map: a panic
	return nil
}

// syncWriter is a log sink safe for the task's goroutine.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestPluginActionPanic: an in-process plugin's action that panics fails
// its step and the task, with the plugin and the action in the step's
// error (the panic's value and stack in the log only), and the service
// runs the next task. Without the recover the panic ends the test binary.
func TestPluginActionPanic(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	db := testdb.SQLiteAt(t, filepath.Join(dir, "atrium.db"))
	var tpl catalog.Entity
	if err := json.Unmarshal([]byte(`{"apiVersion":"scaffolder.backstage.io/v1beta3","kind":"Template",
		"metadata":{"name":"boom","namespace":"default","annotations":{"backstage.io/managed-by-location":"url:https://example.com/t.yaml"}},
		"spec":{"type":"service","steps":[{"id":"boom","name":"Boom","action":"acme:boom","input":{}}]}}`), &tpl); err != nil {
		t.Fatal(err)
	}
	cat := &fakeCatalog{entities: map[string]*catalog.Entity{tpl.Ref().String(): &tpl}}
	reg, err := scaffolder.NewRegistry(scaffolder.PluginAction("acme", panickingAction{}))
	if err != nil {
		t.Fatal(err)
	}
	var logs syncWriter
	box, _ := secrets.NewBox([]secrets.Key{{ID: "k1", Key: make([]byte, 32)}})
	svc, err := scaffolder.New(scaffolder.Params{Store: db, Catalog: cat, Registry: reg, Tmpl: tmpl.New(tmpl.Limits{}), Box: box,
		WorkDir: filepath.Join(dir, "work"), StepTimeout: 5 * time.Second, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	q := &syncQueue{svc: svc, done: make(chan string, 10)}
	svc.SetQueue(q)

	for range 2 { // the second task shows the service still runs tasks
		id, err := svc.Create(ctx, scaffolder.CreateParams{TemplateRef: "template:default/boom"})
		if err != nil {
			t.Fatal(err)
		}
		<-q.done
		task, err := svc.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		step := task.State.Steps["boom"]
		if task.Status != scaffolder.StatusFailed || step == nil || step.Status != scaffolder.StatusFailed {
			t.Fatalf("got task %s, step %+v, want both failed", task.Status, step)
		}
		if want := "plugin acme panicked in action acme:boom: Run"; !strings.Contains(step.Error, want) {
			t.Errorf("step error: got %q, want it to contain %q", step.Error, want)
		}
		if strings.Contains(step.Error, "s3cret") || strings.Contains(task.State.Error, "s3cret") {
			t.Errorf("the panic's value reached the task: %q / %q", step.Error, task.State.Error)
		}
	}
	if !strings.Contains(logs.String(), "nil map") || !strings.Contains(logs.String(), "panic_test.go") {
		t.Errorf("the panic and its stack are not logged: %s", logs.String())
	}
}
