package app_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/internal/app/apptest"
	"github.com/atrium-portal/atrium/internal/tracing/tracingtest"
)

// TestTracing: with atrium.tracing pointing at an OTLP/HTTP receiver, a
// request arrives there as a span named by its route pattern carrying the
// request id, with the store calls it made as its children.
func TestTracing(t *testing.T) {
	recv := tracingtest.NewReceiver(t)
	srv := apptest.StartServer(t, fmt.Sprintf(`atrium:
  tracing:
    endpoint: %s
    headers: { x-collector-token: "${ATRIUM_TEST_DIR}" }
`, recv.URL))
	req, _ := http.NewRequest("GET", srv.BaseURL+"/api/catalog/entities/by-name/component/default/nothing", nil)
	req.Header.Set("X-Request-Id", "trace-test-1")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Fatalf("GET by-name: got %d, want 404", res.StatusCode)
	}
	if err := srv.App.FlushTraces(context.Background()); err != nil {
		t.Fatal(err)
	}
	var traceID string
	for _, s := range recv.Spans() {
		if s.Name == "GET /api/catalog/entities/by-name/{kind}/{namespace}/{name}" && tracingtest.Attr(s, "atrium.request_id") == "trace-test-1" {
			traceID = hex.EncodeToString(s.TraceId)
		}
	}
	if traceID == "" {
		var names []string
		for _, s := range recv.Spans() {
			names = append(names, s.Name)
		}
		t.Fatalf("no span named by the route with the request id; got %s", strings.Join(names, ", "))
	}
	stores := 0
	for _, s := range recv.Spans() {
		if hex.EncodeToString(s.TraceId) == traceID && strings.HasPrefix(s.Name, "store.") {
			stores++
			if got := tracingtest.Attr(s, "db.system.name"); got != "sqlite" {
				t.Errorf("%s: db.system.name got %q, want sqlite", s.Name, got)
			}
		}
	}
	if stores == 0 {
		t.Error("no store span in the request's trace")
	}
}

// TestTracingScaffolderSteps: each step of a template task is a span named
// after its action, carrying the task and step ids.
func TestTracingScaffolderSteps(t *testing.T) {
	recv := tracingtest.NewReceiver(t)
	dir := t.TempDir()
	apptest.WriteFilesTo(t, dir, scaffolderFiles)
	srv := apptest.StartServer(t, scaffolderConfig(dir)+fmt.Sprintf("  tracing: { endpoint: %s }\n", recv.URL))
	c := sclient{t: t, base: srv.BaseURL}
	var created struct{ ID string }
	c.json("POST", "/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/local", "values": map[string]any{"name": "traced"}}, 201, &created)
	c.waitDone(created.ID)
	if err := srv.App.FlushTraces(context.Background()); err != nil {
		t.Fatal(err)
	}
	steps := map[string]string{}
	for _, s := range recv.Spans() {
		if strings.HasPrefix(s.Name, "scaffolder.step ") && tracingtest.Attr(s, "atrium.task_id") == created.ID {
			steps[tracingtest.Attr(s, "atrium.step_id")] = s.Name
		}
	}
	if steps["fetch"] != "scaffolder.step fetch:template" || steps["log"] != "scaffolder.step debug:log" {
		t.Errorf("step spans of task %s: got %v, want fetch:template and debug:log", created.ID, steps)
	}
}
