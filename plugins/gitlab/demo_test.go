package gitlab_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/internal/app/apptest"
)

// TestDemoPublishesToSimulatedGitLab runs the demo's Go service template
// with "Publish to: GitLab": the project lands on the simulated GitLab
// that Atrium serves at /sim/gitlab, the component is registered from it
// and its page shows the GitLab card labelled simulated.
func TestDemoPublishesToSimulatedGitLab(t *testing.T) {
	base := apptest.Start(t, `catalog:
  rules: [{ allow: [Component, API, Resource, System, Domain, Group, User, Location, Template] }]
atrium:
  demo: true
  allowedLocationTypes: [file, url]
`)
	e := &env{t: t, base: base}
	code, out := e.do("POST", "/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/go-service",
		"values": map[string]any{"name": "parcel-gl", "owner": "group:default/tracking-team", "publishTo": "gitlab"}}, nil)
	if code != 201 {
		t.Fatalf("creating the task: %d %s", code, out)
	}
	var created struct{ ID string }
	_ = json.Unmarshal(out, &created)
	var task struct {
		Status string
		State  struct {
			Output map[string]any
			Error  string
		}
	}
	waitFor(t, func() bool {
		_, out := e.do("GET", "/api/scaffolder/v2/tasks/"+created.ID, nil, nil)
		return json.Unmarshal(out, &task) == nil && (task.Status == "completed" || task.Status == "failed")
	}, "the task")
	if task.Status != "completed" {
		_, evs := e.do("GET", "/api/scaffolder/v2/tasks/"+created.ID+"/events", nil, nil)
		t.Fatalf("task %s: %s\n%s", task.Status, task.State.Error, evs)
	}
	links, _ := task.State.Output["links"].([]any)
	if len(links) == 0 || !strings.HasSuffix(links[0].(map[string]any)["url"].(string), "/sim/gitlab/demo/parcel-gl.git") {
		t.Errorf("links = %v", links)
	}
	code, out = e.do("GET", "/sim/gitlab/api/v4/projects/demo%2Fparcel-gl", nil, nil)
	if code != 200 || !strings.Contains(string(out), `"path_with_namespace":"demo/parcel-gl"`) {
		t.Errorf("GET /sim/gitlab project: %d %s", code, out)
	}
	// The links lead to the simulator's plain-text pages.
	code, out = e.do("GET", "/sim/gitlab/demo/parcel-gl", nil, nil)
	if code != 200 || !strings.Contains(string(out), "Simulated GitLab: project demo/parcel-gl") {
		t.Errorf("GET /sim/gitlab/demo/parcel-gl: %d %s", code, out)
	}
	code, out = e.do("GET", "/sim/gitlab/demo/parcel-gl/-/blob/main/catalog-info.yaml", nil, nil)
	if code != 200 || !strings.Contains(string(out), "gitlab.com/project-slug: demo/parcel-gl") {
		t.Errorf("GET the file page: %d %s", code, out)
	}
	code, out = e.do("GET", "/catalog/default/component/parcel-gl", nil, nil)
	page := string(out)
	if code != 200 {
		t.Fatalf("entity page: %d", code)
	}
	for _, want := range []string{">GitLab<", "demo/parcel-gl", "gitlab.simulated (simulated)", "main: skipped"} {
		if !strings.Contains(page, want) {
			t.Errorf("entity page lacks %q", want)
		}
	}
	// The demo catalog's components that name a GitLab project find it on
	// the simulated GitLab, with pipelines and a merge request.
	code, out = e.do("GET", "/catalog/default/component/payment-service", nil, nil)
	page = string(out)
	if code != 200 {
		t.Fatalf("payment-service page: %d", code)
	}
	for _, want := range []string{">GitLab<", "northwind/billing/payment-service", "Update dependencies", "update-dependencies → main", "Run <code>make test</code>"} {
		if !strings.Contains(page, want) {
			t.Errorf("payment-service page lacks %q", want)
		}
	}
	if strings.Contains(page, "has no project") {
		t.Error("the GitLab card of payment-service says the project is missing")
	}
	if code, _ := e.do("GET", "/sim/nothing/api/v4/projects", nil, nil); code != 404 {
		t.Errorf("unknown simulator: %d, want 404", code)
	}
}
