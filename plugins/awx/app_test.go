package awx_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/atrium-portal/atrium/internal/app/apptest"
	"github.com/atrium-portal/atrium/internal/integrations/awx/awxsim"
)

// The scaffolder API as tests call it (apptest).
type (
	client = apptest.Client
	event  = apptest.TaskEvent
	task   = apptest.Task
)

// The catalog of the app tests: a component whose page shows the card and
// a day-2 template running a job template against it.
var catalogFiles = map[string]string{
	"all.yaml": `apiVersion: backstage.io/v1alpha1
kind: Location
metadata: { name: all }
spec: { targets: [./catalog.yaml] }
`,
	"catalog.yaml": `apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: ops }
spec: { type: team, children: [] }
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payment-service
  annotations: { ansible.com/job-template: Configure monitoring }
spec: { type: service, lifecycle: production, owner: ops }
---
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: { name: run-job }
spec:
  type: day-2
  parameters:
    required: [component]
    properties: { component: { type: string }, slow: { type: boolean, default: false } }
  steps:
    - id: job
      action: awx:job:launch
      input:
        jobTemplate: Configure monitoring
        limit: web1
        extraVars: { component: '${{ parameters.component }}' }
  output:
    links:
      - { title: Job, url: '${{ steps.job.output.url }}' }
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
  awx:
    config:
      url: %s
      token: ${env:AWX_TEST_TOKEN}
      pollInterval: 20ms
      owner: group:default/ops
`, filepath.Join(dir, "all.yaml"), simURL)
}

func writeCatalog(t *testing.T) string { return apptest.WriteFiles(t, catalogFiles) }

func startSim(t *testing.T) (*awxsim.Sim, string) {
	t.Helper()
	sim := awxsim.New(token)
	sim.Pending, sim.Running = 50*time.Millisecond, 200*time.Millisecond
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	t.Setenv("AWX_TEST_TOKEN", token)
	return sim, srv.URL
}

// TestTemplateTaskInApp runs awx:job:launch through a template task of the
// scaffolder API, then finds the imported job templates in the catalog API
// and the job on the component's Ansible jobs card.
func TestTemplateTaskInApp(t *testing.T) {
	for _, db := range apptest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) { testTemplateTaskInApp(t, db.YAML) })
	}
}

func testTemplateTaskInApp(t *testing.T, dbYAML string) {
	sim, simURL := startSim(t)
	dir := writeCatalog(t)
	base := apptest.Start(t, appConfig(dir, simURL)+dbYAML)
	c := client{T: t, Base: base}

	var created struct{ ID string }
	c.JSON("POST", "/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/run-job", "values": map[string]any{"component": "payment-service"}}, 201, &created)
	evs := c.TaskEvents(created.ID, nil)
	var tk task
	c.JSON("GET", "/api/scaffolder/v2/tasks/"+created.ID, nil, 200, &tk)
	if tk.Status != "completed" {
		t.Fatalf("task %s: %s", tk.Status, tk.State.Error)
	}
	var log strings.Builder
	for _, e := range evs {
		log.WriteString(e.Body.Message + "\n")
	}
	for _, want := range []string{"changed: [web1]", "PLAY RECAP", `"component":"payment-service"`} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("task log lacks %q:\n%s", want, log.String())
		}
	}
	if strings.Contains(log.String(), token) {
		t.Error("the token is in the task log")
	}
	if sim.LastVars()["component"] != "payment-service" {
		t.Errorf("extra vars = %v", sim.LastVars())
	}
	links, _ := tk.State.Output["links"].([]any)
	if len(links) != 1 || !strings.Contains(fmt.Sprint(links[0]), "/#/jobs/playbook/") {
		t.Errorf("links = %v", links)
	}

	// The provider's entities reach the catalog.
	var ent struct {
		Spec struct {
			Type         string   `json:"type"`
			DependencyOf []string `json:"dependencyOf"`
		} `json:"spec"`
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get(base + "/api/catalog/entities/by-name/resource/default/awx-jt-7-configure-monitoring")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode == 200 {
			if err := json.Unmarshal(body, &ent); err != nil {
				t.Fatal(err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the imported job template is not in the catalog: %d %s", res.StatusCode, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if ent.Spec.Type != "ansible-job-template" || len(ent.Spec.DependencyOf) != 2 {
		t.Errorf("entity spec = %+v", ent.Spec)
	}

	// The card on the component's page shows the job.
	req, _ := http.NewRequest("GET", base+"/catalog/default/component/payment-service", nil)
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
	card := doc.Find(`section.plugin-card[data-plugin="awx"]`)
	text := strings.Join(strings.Fields(card.Text()), " ")
	if card.Length() != 1 || !strings.Contains(text, "Ansible jobs") || !strings.Contains(text, "successful") || !strings.Contains(text, "Configure monitoring") {
		t.Errorf("card (%d): %q", card.Length(), text)
	}
	if card.Find(".badge.ok").Length() != 1 {
		h, _ := goquery.OuterHtml(card)
		t.Errorf("want one ok badge: %s", h)
	}
}

// TestTaskResumesAfterRestart stops Atrium while the job runs; the next
// start follows the same job to its end instead of launching another.
func TestTaskResumesAfterRestart(t *testing.T) {
	for _, db := range apptest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) { testTaskResumesAfterRestart(t, db.YAML) })
	}
}

func testTaskResumesAfterRestart(t *testing.T, dbYAML string) {
	sim, simURL := startSim(t)
	sim.Running = 3 * time.Second
	dir := writeCatalog(t)
	// On PostgreSQL the second Atrium is another replica: its own data
	// folder, only the database shared. It finds the job through the
	// operations store.
	r := apptest.RunAcrossRestart(t, appConfig(dir, simURL), dir, dbYAML, true,
		map[string]any{"templateRef": "template:default/run-job", "values": map[string]any{"component": "payment-service"}},
		func(e event) bool { return strings.Contains(e.Body.Message, "TASK [Gathering Facts]") })
	c, evs, tk := r.Client, r.Events, r.Task
	if tk.Status != "completed" {
		t.Fatalf("after restart: %s (%s)", tk.Status, tk.State.Error)
	}
	if got := sim.Requests("POST", "/job_templates/7/launch/"); got != 1 {
		t.Errorf("launches = %d, want 1 (resumed, not launched again)", got)
	}
	var resumed bool
	facts := 0
	for _, e := range evs {
		resumed = resumed || strings.Contains(e.Body.Message, "resuming job")
		if strings.Contains(e.Body.Message, "TASK [Gathering Facts]") {
			facts++
		}
	}
	if !resumed {
		t.Error("no 'resuming job' line in the log")
	}
	if facts != 1 {
		t.Errorf("the output was repeated after the resume: %d 'Gathering Facts' lines", facts)
	}
	ops := c.Operations(r.TaskID)
	if len(ops) != 1 {
		t.Fatalf("operations of the task: got %+v, want one", ops)
	}
	if op := ops[0]; op.State != "succeeded" || op.Kind != "job" || !strings.HasPrefix(op.System, "awx:127.0.0.1:") || op.ExternalID == "" || op.StepID == "" {
		t.Errorf("operation: got %+v, want the job succeeded", op)
	}
}

// TestDemoTemplate runs the demo's day-2 template end to end in demo
// mode: the plugin uses the simulator served by Atrium at /sim/awx/.
func TestDemoTemplate(t *testing.T) {
	base := apptest.Start(t, `catalog:
  rules: [{ allow: [Component, API, Resource, System, Domain, Group, User, Location, Template] }]
atrium:
  demo: true
  allowedLocationTypes: [file, url]
`)
	c := client{T: t, Base: base}
	var created struct{ ID string }
	c.JSON("POST", "/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/ansible-job",
		"values": map[string]any{"component": "component:default/payment-service", "jobTemplate": "Restart service", "limit": "pay-1"}}, 201, &created)
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
	if !strings.Contains(log.String(), "(simulated AWX)") || !strings.Contains(log.String(), "changed: [pay-1]") {
		t.Errorf("log:\n%s", log.String())
	}
	links, _ := tk.State.Output["links"].([]any)
	if len(links) != 2 {
		t.Fatalf("links = %v", links)
	}
	jobURL, _ := links[0].(map[string]any)["url"].(string)
	if !strings.HasPrefix(jobURL, base+"/sim/awx/api/v2/jobs/") {
		t.Fatalf("job url = %s", jobURL)
	}
	// The simulator answers under Atrium, like every route.
	var job struct{ Status string }
	c.JSON("GET", strings.TrimPrefix(jobURL, base), nil, 200, &job)
	if job.Status != "successful" {
		t.Errorf("job status = %s", job.Status)
	}
	// The imported template's page shows the simulated card with the job.
	deadline := time.Now().Add(20 * time.Second)
	for {
		req, _ := http.NewRequest("GET", base+"/catalog/default/resource/awx-jt-8-restart-service", nil)
		req.Header.Set("Accept", "text/html")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := goquery.NewDocumentFromReader(res.Body)
		res.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode == 200 {
			text := strings.Join(strings.Fields(doc.Find(`section.plugin-card[data-plugin="awx"]`).Text()), " ")
			if !strings.Contains(text, "simulated AWX") || !strings.Contains(text, "successful") {
				t.Errorf("card: %q", text)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the imported template's page: %d", res.StatusCode)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestTaskCancelCancelsJob cancels the task through the scaffolder API
// while the job runs: the job is cancelled in AWX (a cancel is not taken
// for a shutdown, which would leave the job running).
func TestTaskCancelCancelsJob(t *testing.T) {
	sim, simURL := startSim(t)
	sim.Running = time.Minute
	base := apptest.Start(t, appConfig(writeCatalog(t), simURL))
	c := client{T: t, Base: base}
	var created struct{ ID string }
	c.JSON("POST", "/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/run-job", "values": map[string]any{"component": "payment-service"}}, 201, &created)
	var jobID int
	c.TaskEvents(created.ID, func(e event) bool {
		_, err := fmt.Sscanf(e.Body.Message, "launched job %d", &jobID)
		return err == nil
	})
	c.JSON("POST", "/api/scaffolder/v2/tasks/"+created.ID+"/cancel", nil, 200, nil)
	c.TaskEvents(created.ID, nil)
	var tk task
	c.JSON("GET", "/api/scaffolder/v2/tasks/"+created.ID, nil, 200, &tk)
	if tk.Status != "cancelled" {
		t.Errorf("task = %s (%s)", tk.Status, tk.State.Error)
	}
	if !sim.Canceled(jobID) {
		t.Errorf("job %d was not cancelled in AWX", jobID)
	}
}

// TestFollowRetriesTransientFailures: AWX answers 503 with Retry-After
// while the job is followed; the step waits and retries from where it
// was, recording the attempts and AWX's answer on the operation, and the
// task completes. A 404 is not retried: the step fails at once, saying
// what AWX answered.
func TestFollowRetriesTransientFailures(t *testing.T) {
	for _, tc := range []struct {
		name                string
		fault               awxsim.Fault
		status, opState     string
		attempts            int
		answer, errorSaying string
	}{
		{"503 retried", awxsim.Fault{Method: "GET", Path: "/jobs/", Status: 503, RetryAfter: 1, Times: 2}, "completed", "succeeded", 2, "503 Service Unavailable", ""},
		{"404 not retried", awxsim.Fault{Method: "GET", Path: "/jobs/", Status: 404, Times: 1}, "failed", "failed", 0, "404 Not Found", "404 Not Found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim, simURL := startSim(t)
			cfg := appConfig(writeCatalog(t), simURL) + "      maxRetries: -1\n      followRetries: 3\n      followRetryMaxWait: 2s\n"
			base := apptest.Start(t, cfg)
			sim.Inject(tc.fault)
			c := client{T: t, Base: base}
			var created struct{ ID string }
			c.JSON("POST", "/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/run-job", "values": map[string]any{"component": "payment-service"}}, 201, &created)
			evs := c.TaskEvents(created.ID, nil)
			var tk task
			c.JSON("GET", "/api/scaffolder/v2/tasks/"+created.ID, nil, 200, &tk)
			if tk.Status != tc.status || !strings.Contains(tk.State.Error, tc.errorSaying) {
				t.Fatalf("task: got %s (%s), want %s", tk.Status, tk.State.Error, tc.status)
			}
			ops := c.Operations(created.ID)
			if len(ops) != 1 {
				t.Fatalf("operations: got %+v, want one", ops)
			}
			op := ops[0]
			if op.State != tc.opState || op.Attempts != tc.attempts || op.LastError == nil || !strings.Contains(op.LastError.Answer, tc.answer) {
				t.Errorf("operation: got %+v (last error %+v), want %s after %d retries with AWX's %q", op, op.LastError, tc.opState, tc.attempts, tc.answer)
			}
			if tc.attempts > 0 && !strings.Contains(op.LastError.Action, "tries again") {
				t.Errorf("last error's action: got %q, want when Atrium tries again", op.LastError.Action)
			}
			retried := 0
			for _, e := range evs {
				if strings.Contains(e.Body.Message, "AWX answered 503") {
					retried++
				}
			}
			if retried != tc.attempts {
				t.Errorf("log lines about the 503: got %d, want %d", retried, tc.attempts)
			}
		})
	}
}
