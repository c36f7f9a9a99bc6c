package app_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/atrium-portal/atrium/internal/app/apptest"
	"github.com/atrium-portal/atrium/internal/integrations/breaker"
	"github.com/atrium-portal/atrium/plugin"
)

// TestOperationsAPI: the operations of a task are listed, filtered, read
// and cancelled through /api/atrium/operations by an admin or the task's
// creator, hidden from others, audited, and shown on the Operations page.
func TestOperationsAPI(t *testing.T) {
	for _, db := range apptest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) { testOperationsAPI(t, db.YAML) })
	}
}

func testOperationsAPI(t *testing.T, dbYAML string) {
	files := t.TempDir()
	apptest.WriteFilesTo(t, files, scaffolderFiles)
	srv := apptest.StartServer(t, fmt.Sprintf(`catalog:
  rules: [{ allow: [Component, Group, User, Location, Template] }]
  locations: [{ type: file, target: %q }]
`, filepath.Join(files, "all.yaml"))+dbYAML)
	admin := apptest.Client{T: t, Base: srv.BaseURL}
	var created struct{ ID string }
	admin.JSON("POST", "/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/local", "values": map[string]any{"name": "ops"}}, 201, &created)
	admin.TaskEvents(created.ID, nil)

	// Two operations of the task's step, as an action keeps them.
	ctx := context.Background()
	ops := srv.App.Operations().For("awx", created.ID, "log")
	job, _, err := ops.Begin(ctx, plugin.OperationStart{System: "awx:controller.test", Kind: "job"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ops.Update(ctx, job.ID, plugin.OperationUpdate{State: plugin.OperationWaitingRetry, ExternalID: "7", ExternalURL: "https://controller.test/#/jobs/7", Attempts: 2,
		Error: &plugin.OperationError{System: "AWX (awx:controller.test)", Answer: "503 Service Unavailable", Action: "wait; Atrium retries"}}); err != nil {
		t.Fatal(err)
	}
	run, _, err := ops.Begin(ctx, plugin.OperationStart{System: "tfc:app.terraform.io", Kind: "run"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ops.Update(ctx, run.ID, plugin.OperationUpdate{State: plugin.OperationRunning, ExternalID: "run-1"}); err != nil {
		t.Fatal(err)
	}

	var page struct {
		Items      []apptest.Operation `json:"items"`
		TotalItems int                 `json:"totalItems"`
	}
	admin.JSON("GET", "/api/atrium/operations?task="+created.ID, nil, 200, &page)
	if page.TotalItems != 2 || len(page.Items) != 2 || page.Items[0].ID != run.ID {
		t.Fatalf("list: got %+v, want the run then the job", page)
	}
	admin.JSON("GET", "/api/atrium/operations?state=waiting-retry&system=awx:controller.test", nil, 200, &page)
	if len(page.Items) != 1 || page.Items[0].ID != job.ID || page.Items[0].Attempts != 2 || page.Items[0].LastError == nil || page.Items[0].LastError.Answer != "503 Service Unavailable" {
		t.Errorf("filtered list: got %+v, want the waiting job with its error", page.Items)
	}
	admin.JSON("GET", "/api/atrium/operations?limit=1&offset=1&task="+created.ID, nil, 200, &page)
	if len(page.Items) != 1 || page.Items[0].ID != job.ID || page.TotalItems != 2 {
		t.Errorf("second page: got %+v", page)
	}
	for _, bad := range []struct{ query, want string }{
		{"state=bogus", `is not one of [pending running waiting-retry`},
		{"limit=0", "query parameter limit"},
		{"offset=-1", "query parameter offset"},
	} {
		status, body := opsGet(t, srv.BaseURL+"/api/atrium/operations?"+bad.query, "")
		if status != 400 || !strings.Contains(body, bad.want) {
			t.Errorf("?%s: got %d %s, want 400 naming %q", bad.query, status, body, bad.want)
		}
	}

	// Someone else may read the task (the default policy allows
	// scaffolder.task.read) and so its operations, but not every
	// operation, and may not cancel them.
	jane := srv.Token(t, "user:default/jane")
	if status, body := opsGet(t, srv.BaseURL+"/api/atrium/operations", jane); status != 403 || !strings.Contains(body, "?task=") {
		t.Errorf("GET every operation as jane: got %d %s, want 403 saying to ask for one task", status, body)
	}
	if status, _ := opsGet(t, srv.BaseURL+"/api/atrium/operations?task="+created.ID, jane); status != 200 {
		t.Errorf("GET the task's operations as jane: got %d, want 200", status)
	}
	janeClient := apptest.Client{T: t, Base: srv.BaseURL, Token: jane}
	janeClient.JSON("POST", "/api/atrium/operations/"+job.ID+"/cancel", nil, 403, nil)
	janeClient.JSON("POST", "/api/atrium/operations/no-such-operation/cancel", nil, 404, nil)

	// The creator (the development user, an admin here) cancels: a job
	// waiting to retry is cancelled at once; a second cancel conflicts.
	var got apptest.Operation
	admin.JSON("POST", "/api/atrium/operations/"+job.ID+"/cancel", nil, 200, &got)
	if got.State != "cancelled" || !got.CancelRequested {
		t.Errorf("cancel: got %+v, want cancelled", got)
	}
	admin.JSON("POST", "/api/atrium/operations/"+job.ID+"/cancel", nil, 409, nil)
	admin.JSON("GET", "/api/atrium/operations/"+job.ID, nil, 200, &got)
	if got.State != "cancelled" {
		t.Errorf("after cancel: got %+v", got)
	}
	// A final operation never runs again.
	if _, err := ops.Update(ctx, job.ID, plugin.OperationUpdate{State: plugin.OperationRunning}); err == nil {
		t.Error("cancelled → running: got no error")
	}
	var audit struct {
		Items []struct {
			Action, Resource, Outcome string
		} `json:"items"`
	}
	admin.JSON("GET", "/api/audit/events?action=operation.cancel", nil, 200, &audit)
	outcomes := map[string]int{}
	for _, e := range audit.Items {
		if e.Resource == "operation:"+job.ID {
			outcomes[e.Outcome]++
		}
	}
	if outcomes["succeeded"] != 1 || outcomes["denied"] != 1 {
		t.Errorf("audit of operation.cancel: got %v (%+v), want one success and jane's denial", outcomes, audit.Items)
	}

	// A breaker that opened shows on /metrics and on the page.
	down := breaker.New("AWX ops-test.example", 2, time.Minute)
	down.Record(true)
	down.Record(true)
	if status, body := opsGet(t, srv.BaseURL+"/metrics", ""); status != 200 || !strings.Contains(body, `atrium_integration_breaker_open{system="AWX ops-test.example"} 1`) ||
		!strings.Contains(body, `atrium_integration_breaker_failures{system="AWX ops-test.example"} 2`) {
		t.Errorf("/metrics: got %d, want the open breaker of AWX ops-test.example", status)
	}

	// The Operations page shows both with their state badges and links.
	status, body := opsGet(t, srv.BaseURL+"/operations?task="+created.ID, "")
	if status != 200 {
		t.Fatalf("GET /operations: %d %s", status, body)
	}
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	rows := doc.Find("#operations tbody tr")
	if rows.Length() != 2 {
		t.Fatalf("page rows: got %d, want 2", rows.Length())
	}
	jobRow := doc.Find(`#operations tr[data-operation="` + job.ID + `"]`)
	if jobRow.Find(".op-state.warn").Text() != "cancelled" || !strings.Contains(jobRow.Find(".op-error").Text(), "503 Service Unavailable") ||
		jobRow.Find(`a[href="/create/tasks/`+created.ID+`"]`).Length() != 1 || jobRow.Find(`a[href="https://controller.test/#/jobs/7"]`).Length() != 1 {
		h, _ := goquery.OuterHtml(jobRow)
		t.Errorf("job row: %s", h)
	}
	if doc.Find(`#operations tr[data-operation="`+run.ID+`"] .op-state.info`).Text() != "running" {
		t.Error("the running run has no blue running badge")
	}
	brow := doc.Find("#breakers tr").FilterFunction(func(_ int, r *goquery.Selection) bool { return strings.Contains(r.Text(), "AWX ops-test.example") })
	if brow.Find(".badge.err").Text() != "open" {
		t.Errorf("breakers table: got %q, want AWX ops-test.example open", brow.Text())
	}
	// The task page lists them under their step.
	status, body = opsGet(t, srv.BaseURL+"/create/tasks/"+created.ID, "")
	if status != 200 {
		t.Fatalf("task page: %d", status)
	}
	if doc, err = goquery.NewDocumentFromReader(strings.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	stepOps := doc.Find(`.task-step[data-step="log"] .step-operations li`)
	if stepOps.Length() != 2 || stepOps.First().Find(".op-state.warn").Text() != "cancelled" || !strings.Contains(stepOps.First().Text(), "awx:controller.test") {
		h, _ := goquery.OuterHtml(doc.Find(`.task-step[data-step="log"]`))
		t.Errorf("operations on the task page: %s", h)
	}
	if status, _ := opsGet(t, srv.BaseURL+"/operations", jane); status != 403 {
		t.Errorf("GET /operations as jane: got %d, want 403", status)
	}
}

// opsGet does a GET as the development user or with a bearer token.
func opsGet(t testing.TB, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html, application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}
