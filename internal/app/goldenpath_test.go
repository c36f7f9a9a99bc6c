package app_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/atrium-portal/atrium/internal/app/apptest"
)

// goldenPathConfig starts Atrium in demo mode: the demo catalog with the
// golden-path template and every integration on its simulator.
const goldenPathConfig = `catalog:
  rules: [{ allow: [Component, API, Resource, System, Domain, Group, User, Location, Template] }]
atrium:
  demo: true
  allowedLocationTypes: [file, url]
`

// TestGoldenPath runs the demo's "Service on OpenShift with an Azure
// database" template through the scaffolder API on the simulators, then
// checks that the component is in the catalog and that its page shows the
// GitLab, Terraform, Workloads, Ansible jobs and Azure cards with the data
// the task created, each labelled simulated.
// It runs on SQLite, and on PostgreSQL when ATRIUM_TEST_POSTGRES is set.
func TestGoldenPath(t *testing.T) {
	for _, db := range apptest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) { testGoldenPath(t, db.YAML+goldenPathConfig) })
	}
}

func testGoldenPath(t *testing.T, config string) {
	base := apptest.Start(t, config)
	id := createGoldenPathTask(t, base, "parcel-gp")

	var task struct {
		Status string
		State  struct {
			Output map[string]any
			Error  string
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, out := gpCall(t, "GET", base+"/api/scaffolder/v2/tasks/"+id, nil)
		if err := json.Unmarshal(out, &task); err != nil {
			t.Fatalf("task: %v %s", err, out)
		}
		if task.Status == "completed" || task.Status == "failed" || task.Status == "cancelled" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("task still %s after 60s", task.Status)
		}
		time.Sleep(200 * time.Millisecond)
	}
	_, events := gpCall(t, "GET", base+"/api/scaffolder/v2/tasks/"+id+"/events", nil)
	if task.Status != "completed" {
		t.Fatalf("task %s: %s\n%s", task.Status, task.State.Error, events)
	}
	// Every step ran: none was skipped.
	for _, want := range []string{"simulated AWX", "simulated Terraform", "simulated OpenShift", "subscription demo, simulated", "rollout complete"} {
		if !bytes.Contains(events, []byte(want)) {
			t.Errorf("the task log lacks %q", want)
		}
	}
	var evs []struct {
		Body struct{ StepID, Status string }
	}
	if err := json.Unmarshal(events, &evs); err != nil {
		t.Fatalf("events: %v", err)
	}
	completed := map[string]bool{}
	for _, ev := range evs {
		if ev.Body.Status == "completed" && ev.Body.StepID != "" {
			completed[ev.Body.StepID] = true
		}
	}
	for _, step := range []string{"fetch", "publish", "workspace", "variables", "plan", "resourceGroup", "deploy", "project", "apply", "monitoring", "register"} {
		if !completed[step] {
			t.Errorf("step %s did not complete (skipped or missing)", step)
		}
	}
	texts, _ := task.State.Output["text"].([]any)
	var gotTexts []string
	for _, x := range texts {
		m, _ := x.(map[string]any)
		s, _ := m["content"].(string)
		gotTexts = append(gotTexts, s)
	}
	if strings.Join(gotTexts, "|") != "parcel-gp-db.postgres.database.azure.com|parcel-gp-db" {
		t.Errorf("output text = %q, want the Terraform and ARM outputs", gotTexts)
	}

	code, out := gpCall(t, "GET", base+"/api/catalog/entities/by-name/component/default/parcel-gp", nil)
	if code != 200 {
		t.Fatalf("the component is not in the catalog: %d %s", code, out)
	}
	for _, want := range []string{`"gitlab.com/project-slug":"demo/parcel-gp"`, `"azure.com/resource-group":"demo/rg-parcel-gp"`, `"backstage.io/kubernetes-id":"parcel-gp"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("entity lacks %s: %s", want, out)
		}
	}

	code, out = gpCall(t, "GET", base+"/catalog/default/component/parcel-gp", nil)
	if code != 200 {
		t.Fatalf("entity page: %d", code)
	}
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	cards := []struct {
		plugin string
		want   []string
	}{
		{"gitlab", []string{"demo/parcel-gp", "gitlab.simulated (simulated)", "Created from Atrium's golden-path template"}},
		{"terraform", []string{"simulated Terraform", "applied", "db_host", "parcel-gp-db.postgres.database.azure.com"}},
		{"openshift", []string{"simulated OpenShift", "parcel-gp 2/2", "parcel-gp.apps.demo.example.com", "Running"}},
		{"awx", []string{"simulated AWX", "Configure monitoring", "successful"}},
		{"azure", []string{"simulated Azure", "rg-parcel-gp", "parcel-gp-db", "Microsoft.DBforPostgreSQL/flexibleServers", "EUR"}},
	}
	for _, c := range cards {
		card := doc.Find(`section.plugin-card[data-plugin="` + c.plugin + `"]`)
		if card.Length() == 0 {
			t.Errorf("no %s card on the entity page", c.plugin)
			continue
		}
		text := strings.Join(strings.Fields(card.Text()), " ")
		if card.Find(".notice").Length() > 0 && strings.Contains(card.Find(".notice").Text(), "unavailable") {
			t.Errorf("%s card is unavailable: %s", c.plugin, text)
		}
		for _, w := range c.want {
			if !strings.Contains(text, w) {
				t.Errorf("%s card lacks %q: %s", c.plugin, w, text)
			}
		}
	}
}

// createGoldenPathTask starts the golden-path template for a component
// named name and returns the task's id.
func createGoldenPathTask(t *testing.T, base, name string) string {
	t.Helper()
	body := map[string]any{"templateRef": "template:default/golden-path", "values": map[string]any{
		"name": name, "owner": "group:default/tracking-team", "replicas": 2, "location": "westeurope", "dbSku": "Standard_B1ms"}}
	code, out := gpCall(t, "POST", base+"/api/scaffolder/v2/tasks", body)
	if code != 201 {
		t.Fatalf("creating the task: %d %s", code, out)
	}
	var created struct{ ID string }
	if err := json.Unmarshal(out, &created); err != nil || created.ID == "" {
		t.Fatalf("task id: %v %s", err, out)
	}
	return created.ID
}

// gpCall sends a JSON request and returns the status and body.
func gpCall(t *testing.T, method, url string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		r = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, url, r)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, out
}
