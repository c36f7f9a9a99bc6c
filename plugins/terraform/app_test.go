package terraform_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/atrium-portal/atrium/internal/app/apptest"
	"github.com/atrium-portal/atrium/internal/integrations/tfc/tfcsim"
)

// The scaffolder API as tests call it (apptest).
type (
	client = apptest.Client
	event  = apptest.TaskEvent
	task   = apptest.Task
)

var catalogFiles = map[string]string{
	"all.yaml": `apiVersion: backstage.io/v1alpha1
kind: Location
metadata: { name: all }
spec: { targets: [./catalog.yaml, ./infra/template.yaml] }
`,
	"catalog.yaml": `apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: ops }
spec: { type: team, children: [] }
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payments
  annotations: { terraform.io/workspace: example/payments-db }
spec: { type: service, lifecycle: production, owner: ops }
`,
	"infra/skeleton/main.tf": `resource "terraform_data" "db" {}

output "db_host" {
  value = "${{ values.name }}.db.internal"
}

output "db_password" {
  value     = "hunter2"
  sensitive = true
}
`,
	"infra/template.yaml": `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: { name: infra }
spec:
  type: infrastructure
  parameters:
    required: [name]
    properties: { name: { type: string } }
  steps:
    - id: fetch
      action: fetch:template
      input: { url: ./skeleton, targetPath: infra, values: { name: '${{ parameters.name }}' } }
    - id: ws
      action: terraform:workspace:ensure
      input: { name: '${{ parameters.name }}-db', tags: [atrium], autoApply: false }
    - id: vars
      action: terraform:variables:set
      input:
        workspace: '${{ parameters.name }}-db'
        variables:
          - { key: ARM_CLIENT_SECRET, value: '${{ secrets.armSecret }}', category: env, sensitive: true }
    - id: run
      action: terraform:run
      input: { workspace: '${{ parameters.name }}-db', directory: infra, apply: true }
  output:
    links:
      - { title: Run, url: '${{ steps.run.output.url }}' }
    text:
      - { title: Database host, content: '${{ steps.run.output.outputs.db_host }}' }
`,
}

func appConfig(dir, simURL string) string {
	return fmt.Sprintf(`catalog:
  rules: [{ allow: [Component, Group, User, Location, Template, Resource] }]
  locations: [{ type: file, target: %q }]
atrium:
  allowedLocationTypes: [file, url]
  scaffolder: { staleTaskAfter: 2s }
plugins:
  terraform:
    config:
      address: %s
      token: ${env:TFE_TEST_TOKEN}
      organization: example
      pollInterval: 20ms
`, filepath.Join(dir, "all.yaml"), simURL)
}

func writeCatalog(t *testing.T) string { return apptest.WriteFiles(t, catalogFiles) }

func startSim(t *testing.T) *tfcsim.Sim {
	t.Helper()
	sim := tfcsim.New(token, "example")
	sim.Step = 30 * time.Millisecond
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	sim.Base = srv.URL
	t.Setenv("TFE_TEST_TOKEN", token)
	return sim
}

const armSecret = "arm-secret-value-42"

// TestTemplateTaskInApp runs the three actions through a template task of
// the scaffolder API and checks the Terraform card on the entity page.
func TestTemplateTaskInApp(t *testing.T) {
	for _, db := range apptest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) { testTemplateTaskInApp(t, db.YAML) })
	}
}

func testTemplateTaskInApp(t *testing.T, dbYAML string) {
	sim := startSim(t)
	dir := writeCatalog(t)
	base := apptest.Start(t, appConfig(dir, sim.Base)+dbYAML)
	c := client{T: t, Base: base}
	var created struct{ ID string }
	c.JSON("POST", "/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/infra", "values": map[string]any{"name": "payments"},
		"secrets": map[string]any{"armSecret": armSecret}}, 201, &created)
	evs := c.TaskEvents(created.ID, nil)
	var tk task
	c.JSON("GET", "/api/scaffolder/v2/tasks/"+created.ID, nil, 200, &tk)
	var log strings.Builder
	for _, e := range evs {
		log.WriteString(e.Body.Message + "\n")
	}
	if tk.Status != "completed" {
		t.Fatalf("task %s: %s\n%s", tk.Status, tk.State.Error, log.String())
	}
	if strings.Contains(log.String(), armSecret) || strings.Contains(log.String(), "hunter2") || strings.Contains(log.String(), token) {
		t.Errorf("a secret is in the task log:\n%s", log.String())
	}
	for _, want := range []string{"workspace example/payments-db created", "created ARM_CLIENT_SECRET (env, sensitive)", "is applied"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}
	if v := sim.Variable("example", "payments-db", "ARM_CLIENT_SECRET"); v == nil || v.Value != armSecret || !v.Sensitive {
		t.Errorf("variable = %+v", v)
	}
	if got := fmt.Sprint(tk.State.Output["text"]); !strings.Contains(got, "payments.db.internal") {
		t.Errorf("output text = %s", got)
	}

	req, _ := http.NewRequest("GET", base+"/catalog/default/component/payments", nil)
	req.Header.Set("Accept", "text/html")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	doc, err := goquery.NewDocumentFromReader(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	card := doc.Find(`section.plugin-card[data-plugin="terraform"]`)
	text := strings.Join(strings.Fields(card.Text()), " ")
	if card.Length() != 1 || !strings.Contains(text, "applied") || !strings.Contains(text, "payments.db.internal") || !strings.Contains(text, "(sensitive)") || strings.Contains(text, "hunter2") {
		t.Errorf("card (%d): %q", card.Length(), text)
	}
	if card.Find(".badge.ok").Length() != 1 {
		h, _ := goquery.OuterHtml(card)
		t.Errorf("want one ok badge: %s", h)
	}
}

// TestRunResumesAfterRestart stops Atrium while the run plans; the next
// start follows the same run instead of queueing another.
func TestRunResumesAfterRestart(t *testing.T) {
	for _, db := range apptest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) { testRunResumesAfterRestart(t, db.YAML) })
	}
}

func testRunResumesAfterRestart(t *testing.T, dbYAML string) {
	sim := startSim(t)
	sim.Step = 700 * time.Millisecond
	dir := writeCatalog(t)
	r := apptest.RunAcrossRestart(t, appConfig(dir, sim.Base), dir, dbYAML, false,
		map[string]any{"templateRef": "template:default/infra", "values": map[string]any{"name": "resume"}, "secrets": map[string]any{"armSecret": armSecret}},
		func(e event) bool { return strings.Contains(e.Body.Message, "is planning") })
	c, evs, tk := r.Client, r.Events, r.Task
	if tk.Status != "completed" {
		t.Fatalf("after restart: %s (%s)", tk.Status, tk.State.Error)
	}
	if got := sim.Runs("example", "resume-db"); got != 1 {
		t.Errorf("runs = %d, want 1 (resumed, not queued again)", got)
	}
	resumed := false
	for _, e := range evs {
		resumed = resumed || strings.Contains(e.Body.Message, "resuming run")
	}
	if !resumed {
		t.Error("no 'resuming run' line in the log")
	}
	// The run was followed through the operations store.
	ops := c.Operations(r.TaskID)
	if len(ops) != 1 || ops[0].Kind != "run" || ops[0].State != "succeeded" || !strings.HasPrefix(ops[0].System, "tfc:") || !strings.HasPrefix(ops[0].ExternalID, "run-") {
		t.Errorf("operations of the task: got %+v, want one succeeded run", ops)
	}
}

// TestTaskCancelCancelsRun cancels the task through the scaffolder API
// while the run plans: the run is cancelled in Terraform.
func TestTaskCancelCancelsRun(t *testing.T) {
	sim := startSim(t)
	sim.Step = time.Minute
	base := apptest.Start(t, appConfig(writeCatalog(t), sim.Base))
	c := client{T: t, Base: base}
	var created struct{ ID string }
	c.JSON("POST", "/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/infra", "values": map[string]any{"name": "cancel"},
		"secrets": map[string]any{"armSecret": armSecret}}, 201, &created)
	var runID string
	c.TaskEvents(created.ID, func(e event) bool {
		if rest, ok := strings.CutPrefix(e.Body.Message, "run "); ok && strings.HasPrefix(rest, "run-") {
			runID, _, _ = strings.Cut(rest, ":")
			return true
		}
		return false
	})
	c.JSON("POST", "/api/scaffolder/v2/tasks/"+created.ID+"/cancel", nil, 200, nil)
	c.TaskEvents(created.ID, nil)
	var tk task
	c.JSON("GET", "/api/scaffolder/v2/tasks/"+created.ID, nil, 200, &tk)
	if tk.Status != "cancelled" {
		t.Errorf("task = %s (%s)", tk.Status, tk.State.Error)
	}
	if runID == "" || !sim.Canceled(runID) {
		t.Errorf("run %q was not cancelled in Terraform", runID)
	}
	if ops := c.Operations(created.ID); len(ops) != 1 || ops[0].State != "cancelled" || ops[0].ExternalID != runID {
		t.Errorf("operations of the task: got %+v, want run %s cancelled", ops, runID)
	}
}

// TestFollowRetriesTransientFailures: Terraform answers 503 while the run
// is followed; the step waits and follows again, recording the retries
// and the answer on the operation, and the task completes. A 404 for the
// run is not retried: the step fails at once.
func TestFollowRetriesTransientFailures(t *testing.T) {
	for _, tc := range []struct {
		name            string
		fault           tfcsim.Fault
		status, opState string
		attempts        int
		answer          string
	}{
		{"503 retried", tfcsim.Fault{Method: "GET", Path: "/runs/", Status: 503, RetryAfter: 1, Times: 2}, "completed", "succeeded", 2, "Service Unavailable"},
		{"404 not retried", tfcsim.Fault{Method: "GET", Path: "/runs/", Status: 404, Times: 1}, "failed", "failed", 0, "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim := startSim(t)
			cfg := appConfig(writeCatalog(t), sim.Base) + "      maxRetries: -1\n      followRetries: 3\n      followRetryMaxWait: 2s\n"
			base := apptest.Start(t, cfg)
			sim.Inject(tc.fault)
			c := client{T: t, Base: base}
			var created struct{ ID string }
			c.JSON("POST", "/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/infra", "values": map[string]any{"name": "retry"},
				"secrets": map[string]any{"armSecret": armSecret}}, 201, &created)
			c.TaskEvents(created.ID, nil)
			var tk task
			c.JSON("GET", "/api/scaffolder/v2/tasks/"+created.ID, nil, 200, &tk)
			if tk.Status != tc.status {
				t.Fatalf("task: got %s (%s), want %s", tk.Status, tk.State.Error, tc.status)
			}
			ops := c.Operations(created.ID)
			if len(ops) != 1 {
				t.Fatalf("operations: got %+v, want one", ops)
			}
			if op := ops[0]; op.State != tc.opState || op.Attempts != tc.attempts || op.LastError == nil || !strings.Contains(strings.ToLower(op.LastError.Answer), strings.ToLower(tc.answer)) {
				t.Errorf("operation: got %+v (last error %+v), want %s after %d retries with %q", op, op.LastError, tc.opState, tc.attempts, tc.answer)
			}
		})
	}
}

// TestOperationCancelCancelsRun cancels the run's operation through
// POST /api/atrium/operations/{id}/cancel while the run waits: the task
// is cancelled, and the run with it in Terraform.
func TestOperationCancelCancelsRun(t *testing.T) {
	sim := startSim(t)
	sim.Step = time.Minute
	base := apptest.Start(t, appConfig(writeCatalog(t), sim.Base))
	c := client{T: t, Base: base}
	var created struct{ ID string }
	c.JSON("POST", "/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/infra", "values": map[string]any{"name": "opcancel"},
		"secrets": map[string]any{"armSecret": armSecret}}, 201, &created)
	c.TaskEvents(created.ID, func(e event) bool { return strings.HasPrefix(e.Body.Message, "run run-") })
	ops := c.Operations(created.ID)
	if len(ops) != 1 || ops[0].State != "running" {
		t.Fatalf("operations while planning: got %+v, want the running run", ops)
	}
	var got apptest.Operation
	c.JSON("POST", "/api/atrium/operations/"+ops[0].ID+"/cancel", nil, 200, &got)
	if !got.CancelRequested {
		t.Errorf("cancel answer: got %+v, want cancel requested", got)
	}
	c.TaskEvents(created.ID, nil)
	var tk task
	c.JSON("GET", "/api/scaffolder/v2/tasks/"+created.ID, nil, 200, &tk)
	if tk.Status != "cancelled" {
		t.Errorf("task = %s (%s), want cancelled", tk.Status, tk.State.Error)
	}
	if !sim.Canceled(ops[0].ExternalID) {
		t.Errorf("run %s was not cancelled in Terraform", ops[0].ExternalID)
	}
	if after := c.Operations(created.ID); len(after) != 1 || after[0].State != "cancelled" {
		t.Errorf("operation after the cancel: got %+v, want cancelled", after)
	}
}
