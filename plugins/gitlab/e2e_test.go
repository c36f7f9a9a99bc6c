package gitlab_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/app/apptest"
	"github.com/atrium-portal/atrium/internal/integrations/gitlab/gitlabsim"
)

const (
	simToken     = "glpat-e2e-0123456789"
	webhookToken = "hook-secret-0123456789"
	variableVal  = "sup3r-s3cret-value"
)

// templateFiles are a golden-path template publishing to GitLab.
var templateFiles = map[string]string{
	"org.yaml": `apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: platform }
spec: { type: team, children: [] }
`,
	"template/template.yaml": `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: { name: gitlab-service }
spec:
  owner: group:default/platform
  type: service
  parameters:
    - required: [name]
      properties:
        name: { type: string }
  steps:
    - id: fetch
      action: fetch:template
      input: { url: ./skeleton, values: { name: '${{ parameters.name }}' } }
    - id: group
      action: gitlab:group:ensureExists
      input: { repoUrl: '%[1]s', path: platform/services }
    - id: publish
      action: publish:gitlab
      input:
        repoUrl: '%[1]s?owner=platform/services&repo=${{ parameters.name }}'
        repoVisibility: internal
        topics: [go, atrium]
        description: made by Atrium
        gitCommitMessage: scaffolded
        gitAuthorName: Atrium
        gitAuthorEmail: atrium@example.com
    - id: variable
      action: gitlab:projectVariable:create
      input:
        repoUrl: '%[1]s?owner=platform/services&repo=${{ parameters.name }}'
        key: DEPLOY_TOKEN
        value: %[2]s
        variableMasked: true
        variableProtected: true
        environmentScope: production
    - id: docs
      action: fetch:plain:file
      input: { url: ./extra.md, targetPath: docs/extra.md }
    - id: mr
      action: publish:gitlab:merge-request
      input:
        repoUrl: '%[1]s?owner=platform/services&repo=${{ parameters.name }}'
        title: Add docs
        branchName: add-docs
    - id: register
      action: catalog:register
      input:
        repoContentsUrl: ${{ steps.publish.output.repoContentsUrl }}
        catalogInfoPath: /catalog-info.yaml
  output:
    links:
      - { title: Repository, url: '${{ steps.publish.output.remoteUrl }}' }
      - { title: Merge request, url: '${{ steps.mr.output.mergeRequestUrl }}' }
`,
	"template/skeleton/catalog-info.yaml": `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: ${{ values.name }}
  annotations:
    gitlab.com/project-slug: platform/services/${{ values.name }}
spec: { type: service, lifecycle: experimental, owner: group:default/platform }
`,
	"template/skeleton/README.md":      "# ${{ values.name }}\n\nThe **${{ values.name }}** service.\n",
	"template/skeleton/.gitlab-ci.yml": "test: { script: [go test ./...] }\n",
	"template/extra.md":                "# More docs\n",
	"all.yaml": `apiVersion: backstage.io/v1alpha1
kind: Location
metadata: { name: all }
spec: { targets: [./org.yaml, ./template/template.yaml] }
`,
}

type env struct {
	t    *testing.T
	sim  *gitlabsim.Sim
	host string
	base string
}

func start(t *testing.T, dbYAML string) *env {
	t.Helper()
	sim := gitlabsim.New(simToken, "")
	gl := httptest.NewServer(sim)
	t.Cleanup(gl.Close)
	sim.WebURL = gl.URL
	host := strings.TrimPrefix(gl.URL, "http://")
	sim.AddProject("discovered/team/orders", "main", map[string]string{"catalog-info.yaml": `apiVersion: backstage.io/v1alpha1
kind: Component
metadata: { name: orders, description: first }
spec: { type: service, lifecycle: production, owner: group:default/platform }
`})
	sim.AddProject("discovered/no-catalog", "main", map[string]string{"README.md": "nothing"})

	dir := t.TempDir()
	for name, content := range templateFiles {
		if name == "template/template.yaml" {
			content = fmt.Sprintf(content, host, variableVal)
		}
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("GITLAB_E2E_TOKEN", simToken)
	t.Setenv("GITLAB_E2E_HOOK", webhookToken)
	base := apptest.Start(t, fmt.Sprintf(`catalog:
  rules: [{ allow: [Component, Group, Location, Template] }]
  locations: [{ type: file, target: %q }]
atrium:
  allowedLocationTypes: [file, url]
plugins:
  gitlab:
    config:
      instances:
        - { host: %q, apiBaseUrl: %q, token: '${env:GITLAB_E2E_TOKEN}', requestsPerSecond: 50, burst: 20 }
      discovery:
        - { host: %q, groups: [discovered], refreshInterval: 1h }
      webhookToken: '${env:GITLAB_E2E_HOOK}'
`, filepath.Join(dir, "all.yaml"), host, gl.URL, host)+dbYAML)
	return &env{t: t, sim: sim, host: host, base: base}
}

func (e *env) do(method, path string, body any, header http.Header) (int, []byte) {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		r = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, e.base+path, r)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, out
}

// runTask creates a task of the template and waits for it to end.
func (e *env) runTask(name string) (status string, output map[string]any, log string) {
	e.t.Helper()
	code, out := e.do("POST", "/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/gitlab-service", "values": map[string]any{"name": name}}, nil)
	if code != 201 {
		e.t.Fatalf("creating the task: %d %s", code, out)
	}
	var created struct{ ID string }
	_ = json.Unmarshal(out, &created)
	deadline := time.Now().Add(60 * time.Second)
	var task struct {
		Status string
		State  struct {
			Output map[string]any
			Error  string
		}
	}
	for time.Now().Before(deadline) {
		_, out = e.do("GET", "/api/scaffolder/v2/tasks/"+created.ID, nil, nil)
		_ = json.Unmarshal(out, &task)
		if task.Status == "completed" || task.Status == "failed" || task.Status == "cancelled" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	_, evs := e.do("GET", "/api/scaffolder/v2/tasks/"+created.ID+"/events", nil, nil)
	if task.Status != "completed" {
		e.t.Logf("task %s: %s; events %s", task.Status, task.State.Error, evs)
	}
	return task.Status, task.State.Output, string(evs)
}

func TestGoldenPathOnGitLab(t *testing.T) {
	for _, db := range apptest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) { testGoldenPath(t, db.YAML) })
	}
}

func testGoldenPath(t *testing.T, dbYAML string) {
	e := start(t, dbYAML)
	status, output, log := e.runTask("billing")
	if status != "completed" {
		t.Fatalf("task %s", status)
	}
	// The tree is one commit on main; the project is internal with topics.
	if got, ok := e.sim.File("platform/services/billing", "main", "README.md"); !ok || !strings.Contains(got, "**billing**") {
		t.Errorf("README on main = %q, %v", got, ok)
	}
	if _, ok := e.sim.File("platform/services/billing", "main", "docs/extra.md"); ok {
		t.Error("docs/extra.md is on main; it belongs to the merge request's branch")
	}
	if got, ok := e.sim.File("platform/services/billing", "add-docs", "docs/extra.md"); !ok || got != "# More docs\n" {
		t.Errorf("docs/extra.md on add-docs = %q, %v", got, ok)
	}
	value, masked, protected, ok := e.sim.Variable("platform/services/billing", "DEPLOY_TOKEN", "production")
	if !ok || value != variableVal || !masked || !protected {
		t.Errorf("variable = %q masked %v protected %v found %v", value, masked, protected, ok)
	}
	if strings.Contains(log, variableVal) {
		t.Error("the task log shows the variable's value")
	}
	if strings.Contains(log, simToken) {
		t.Error("the task log shows the GitLab token")
	}
	links, _ := output["links"].([]any)
	if len(links) != 2 || !strings.HasSuffix(fmt.Sprint(links[0].(map[string]any)["url"]), "/platform/services/billing.git") ||
		!strings.HasSuffix(fmt.Sprint(links[1].(map[string]any)["url"]), "/platform/services/billing/-/merge_requests/1") {
		t.Errorf("links = %v", links)
	}
	// catalog:register read catalog-info.yaml through the plugin's reader:
	// the GitLab host is not in backend.reading.allow.
	code, out := e.do("GET", "/api/catalog/entities/by-name/component/default/billing", nil, nil)
	if code != 200 {
		t.Fatalf("registered component: %d %s", code, out)
	}
	// The entity page shows the GitLab card: pipeline, merge request, README.
	code, out = e.do("GET", "/catalog/default/component/billing", nil, nil)
	page := string(out)
	if code != 200 {
		t.Fatalf("entity page: %d", code)
	}
	for _, want := range []string{">GitLab<", "platform/services/billing", "main: success", "!1", "Add docs", "add-docs → main", "<strong>billing</strong>"} {
		if !strings.Contains(page, want) {
			t.Errorf("entity page lacks %q", want)
		}
	}

	// Running the template again for the same name: the group exists, the
	// project holds other content now (no: the same skeleton) — publish
	// finds its own tree and the merge request is not opened twice.
	projects, mrs, _ := e.sim.Count()
	status, _, _ = e.runTask("billing")
	if status != "completed" {
		t.Errorf("second run: %s", status)
	}
	if p2, m2, _ := e.sim.Count(); p2 != projects || m2 != mrs {
		t.Errorf("second run: %d projects and %d merge requests, want %d and %d", p2, m2, projects, mrs)
	}
}

func TestDiscoveryAndPushWebhook(t *testing.T) {
	for _, db := range apptest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) { testDiscovery(t, db.YAML) })
	}
}

func testDiscovery(t *testing.T, dbYAML string) {
	e := start(t, dbYAML)
	var ent struct {
		Metadata struct {
			Description string
			Annotations map[string]string
		}
	}
	waitFor(t, func() bool {
		code, out := e.do("GET", "/api/catalog/entities/by-name/component/default/orders", nil, nil)
		return code == 200 && json.Unmarshal(out, &ent) == nil && ent.Metadata.Description == "first"
	}, "the discovered component orders")
	if got := ent.Metadata.Annotations["gitlab.com/project-slug"]; got != "discovered/team/orders" {
		t.Errorf("project-slug = %q", got)
	}
	if got := ent.Metadata.Annotations["backstage.io/managed-by-location"]; !strings.HasSuffix(got, "/discovered/team/orders/-/blob/main/catalog-info.yaml") {
		t.Errorf("managed-by-location = %q", got)
	}

	// A push changes the file; the webhook refreshes that project.
	e.sim.AddProject("discovered/team/orders-v2", "main", nil) // unrelated project
	commit(t, e, "discovered/team/orders", "catalog-info.yaml", "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: { name: orders, description: second }\nspec: { type: service, lifecycle: production, owner: group:default/platform }\n")
	push := map[string]any{"object_kind": "push", "ref": "refs/heads/main",
		"project": map[string]any{"path_with_namespace": "discovered/team/orders", "web_url": e.sim.WebURL + "/discovered/team/orders", "default_branch": "main"}}
	if code, out := e.do("POST", "/api/events/gitlab/push", push, http.Header{"X-Gitlab-Token": {"wrong-token-0123456789"}}); code != 401 {
		t.Errorf("wrong token: %d %s, want 401", code, out)
	}
	if code, out := e.do("POST", "/api/events/gitlab/push", push, nil); code != 401 {
		t.Errorf("no token: %d %s, want 401", code, out)
	}
	if code, out := e.do("POST", "/api/events/gitlab/push", push, http.Header{"X-Gitlab-Token": {webhookToken}}); code != 200 {
		t.Fatalf("push: %d %s", code, out)
	}
	waitFor(t, func() bool {
		code, out := e.do("GET", "/api/catalog/entities/by-name/component/default/orders", nil, nil)
		return code == 200 && json.Unmarshal(out, &ent) == nil && ent.Metadata.Description == "second"
	}, "the pushed description")

	// A push to another branch is ignored; deleting the file removes the
	// entity.
	other := map[string]any{"object_kind": "push", "ref": "refs/heads/feature", "project": push["project"]}
	if code, out := e.do("POST", "/api/events/gitlab/push", other, http.Header{"X-Gitlab-Token": {webhookToken}}); code != 200 {
		t.Fatalf("push to another branch: %d %s", code, out)
	}
	commitAction(t, e, "discovered/team/orders", "delete", "catalog-info.yaml", "")
	if code, out := e.do("POST", "/api/events/gitlab/push", push, http.Header{"X-Gitlab-Token": {webhookToken}}); code != 200 {
		t.Fatalf("push: %d %s", code, out)
	}
	waitFor(t, func() bool {
		code, _ := e.do("GET", "/api/catalog/entities/by-name/component/default/orders", nil, nil)
		return code == 404
	}, "the removal of orders")
	if code, out := e.do("POST", "/api/events/gitlab/push", []byte("not json"), http.Header{"X-Gitlab-Token": {webhookToken}}); code != 400 {
		t.Errorf("a body that is not a push event: %d %s, want 400", code, out)
	}
}

func commit(t *testing.T, e *env, project, file, content string) {
	t.Helper()
	commitAction(t, e, project, "update", file, content)
}

func commitAction(t *testing.T, e *env, project, action, file, content string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"branch": "main", "commit_message": action, "actions": []map[string]any{{"action": action, "file_path": file, "content": content}}})
	req, _ := http.NewRequest("POST", e.sim.WebURL+"/api/v4/projects/"+strings.ReplaceAll(project, "/", "%2F")+"/repository/commits", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("PRIVATE-TOKEN", simToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("commit: %d", res.StatusCode)
	}
}

func waitFor(t *testing.T, ok func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if ok() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}
