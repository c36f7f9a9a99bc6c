package scaffolder_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/scaffolder"
	"github.com/atrium-portal/atrium/internal/scaffolder/actions"
	"github.com/atrium-portal/atrium/internal/scaffolder/tmpl"
	"github.com/atrium-portal/atrium/internal/secrets"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/store/sqlite"
	"github.com/atrium-portal/atrium/internal/store/testdb"
)

// fakeCatalog serves templates from memory; other methods are not used.
type fakeCatalog struct {
	engine.Catalog
	entities map[string]*catalog.Entity
}

func (f *fakeCatalog) EntityByRef(_ context.Context, ref string) (*catalog.Entity, error) {
	if e, ok := f.entities[ref]; ok {
		return e, nil
	}
	return nil, fault.New(fault.NotFound, "%s not found", ref)
}

// loadTemplate reads a template file into an entity located at its path.
func loadTemplate(t testing.TB, file string) *catalog.Entity {
	t.Helper()
	abs, _ := filepath.Abs(file)
	raw, err := os.ReadFile(abs)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(doc)
	var e catalog.Entity
	if err := json.Unmarshal(js, &e); err != nil {
		t.Fatal(err)
	}
	e.Metadata.Namespace = "default"
	if e.Metadata.Annotations == nil {
		e.Metadata.Annotations = map[string]string{}
	}
	e.Metadata.Annotations[catalog.AnnotationManagedByLocation] = "file:" + abs
	return &e
}

// syncQueue runs each task in a goroutine of the test.
type syncQueue struct {
	svc  *scaffolder.Service
	done chan string
	// hold, when set, is waited on before a task runs, so that a test can
	// look at a task as it was queued.
	hold chan struct{}
}

func (q *syncQueue) Enqueue(_ context.Context, id string) error {
	go func() {
		if q.hold != nil {
			<-q.hold
		}
		_ = q.svc.Run(context.Background(), id)
		q.done <- id
	}()
	return nil
}

func newService(t testing.TB) (*scaffolder.Service, *syncQueue) {
	svc, q, _, _ := newServiceWithStore(t)
	return svc, q
}

func newServiceWithStore(t testing.TB) (*scaffolder.Service, *syncQueue, *sqlite.DB, string) {
	t.Helper()
	dir := t.TempDir()
	db := testdb.SQLiteAt(t, filepath.Join(dir, "atrium.db"))
	svc, q := newServiceOn(t, db, dir)
	return svc, q, db, filepath.Join(dir, "work")
}

// newServiceOn builds a service on db with its workspaces under dir.
func newServiceOn(t testing.TB, db store.TaskStore, dir string) (*scaffolder.Service, *syncQueue) {
	t.Helper()
	cat := &fakeCatalog{entities: map[string]*catalog.Entity{}}
	for _, f := range []string{"testdata/templates/basic/template.yaml", "testdata/templates/secret/template.yaml",
		"testdata/templates/wait/template.yaml", "testdata/templates/quick/template.yaml"} {
		e := loadTemplate(t, f)
		cat.entities[e.Ref().String()] = e
	}
	te := tmpl.New(tmpl.Limits{})
	reg, err := scaffolder.NewRegistry(actions.Builtins(actions.Deps{Catalog: cat, Templates: te})...)
	if err != nil {
		t.Fatal(err)
	}
	box, _ := secrets.NewBox([]secrets.Key{{ID: "k1", Key: make([]byte, 32)}})
	svc, err := scaffolder.New(scaffolder.Params{Store: db, Catalog: cat, Registry: reg, Tmpl: te, Box: box, WorkDir: filepath.Join(dir, "work"),
		StepTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	q := &syncQueue{svc: svc, done: make(chan string, 10)}
	svc.SetQueue(q)
	return svc, q
}

// TestSecrets checks that task secrets are sealed at rest, redacted from
// the log, never returned, and deleted with the workspace at the end.
func TestSecrets(t *testing.T) {
	svc, q, db, work := newServiceWithStore(t)
	// The task waits until the stored secrets have been looked at (a
	// finished task has none left).
	q.hold = make(chan struct{})
	ctx := context.Background()
	const token = "ghp-very-secret-token"
	id, err := svc.Create(ctx, scaffolder.CreateParams{TemplateRef: "template:default/secret", Secrets: map[string]string{"token": token}})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := db.TaskGet(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Secrets == "" || strings.Contains(stored.Secrets, token) {
		t.Errorf("stored secrets: got %q, want sealed ciphertext", stored.Secrets)
	}
	close(q.hold)
	<-q.done
	stored, _ = db.TaskGet(ctx, id)
	if stored.Status != scaffolder.StatusCompleted || stored.Secrets != "" {
		t.Errorf("after completion: status %s, secrets %q; want completed and none", stored.Status, stored.Secrets)
	}
	evs, _ := db.TaskEventList(ctx, id, 0, 100)
	found := false
	for _, e := range evs {
		if strings.Contains(string(e.Body), token) {
			t.Errorf("event %d holds the secret: %s", e.ID, e.Body)
		}
		found = found || strings.Contains(string(e.Body), "token is ***")
	}
	if !found {
		t.Errorf("no redacted log line among %d events", len(evs))
	}
	task, _ := svc.Get(ctx, id)
	raw, _ := json.Marshal(task)
	if strings.Contains(string(raw), token) {
		t.Errorf("GET task returns the secret: %s", raw)
	}
	if _, err := os.Stat(filepath.Join(work, id)); !os.IsNotExist(err) {
		t.Errorf("workspace left after completion: %v", err)
	}
}

func TestRunBasicTemplate(t *testing.T) {
	svc, q := newService(t)
	ctx := context.Background()
	_, err := svc.Create(ctx, scaffolder.CreateParams{TemplateRef: "template:default/basic", Values: map[string]any{"name": "Bad Name"}})
	var verr *scaffolder.ValidationErrors
	if err == nil || !errorsAs(err, &verr) || len(verr.Errors) == 0 || !strings.Contains(verr.Errors[0].Property, "name") {
		t.Fatalf("invalid name: got %v, want a validation error on name", err)
	}
	id, err := svc.Create(ctx, scaffolder.CreateParams{TemplateRef: "template:default/basic",
		Values: map[string]any{"name": "payments", "withDocs": false}, Secrets: map[string]string{"token": "s3cr3t-token"}})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	select {
	case <-q.done:
	case <-time.After(30 * time.Second):
		t.Fatal("task did not finish")
	}
	task, err := svc.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if task.Status != scaffolder.StatusCompleted {
		t.Fatalf("status: got %s (%s), want completed", task.Status, task.State.Error)
	}
	if got := task.State.Steps["docs"].Status; got != scaffolder.StatusSkipped {
		t.Errorf("docs step: got %s, want skipped", got)
	}
	files, _ := task.State.Steps["list"].Output["files"].([]any)
	var paths []string
	for _, f := range files {
		paths = append(paths, f.(map[string]any)["path"].(string))
	}
	want := []string{"bin.dat", "payments/README.md", "static/raw.txt"}
	if strings.Join(paths, ",") != strings.Join(want, ",") {
		t.Errorf("files: got %v, want %v", paths, want)
	}
	text := task.State.Output["text"].([]any)[0].(map[string]any)["content"]
	if text != "3 files" {
		t.Errorf("output text: got %v, want 3 files", text)
	}
	evs, err := svc.Events(ctx, id, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	last := evs[len(evs)-1]
	if last.Type != scaffolder.EventCompletion {
		t.Errorf("last event: got %s, want completion", last.Type)
	}
}

func errorsAs(err error, target **scaffolder.ValidationErrors) bool {
	v, ok := err.(*scaffolder.ValidationErrors)
	if ok {
		*target = v
	}
	return ok
}

// TestStepTimeout checks that a step running past StepTimeout fails the
// task with a message saying so.
func TestStepTimeout(t *testing.T) {
	svc, q := newService(t)
	ctx := context.Background()
	id, err := svc.Create(ctx, scaffolder.CreateParams{TemplateRef: "template:default/wait"})
	if err != nil {
		t.Fatal(err)
	}
	<-q.done
	task, _ := svc.Get(ctx, id)
	if task.Status != scaffolder.StatusFailed || !strings.Contains(task.State.Error, "timed out after 500ms") {
		t.Errorf("got %s (%s), want failed with a timeout", task.Status, task.State.Error)
	}
}
