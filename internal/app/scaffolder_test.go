package app_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/app/apptest"
)

// scaffolderFiles are a template whose skeleton becomes a component,
// published on the embedded git host and registered in the catalog, and a
// slow template for cancel and restart tests.
var scaffolderFiles = map[string]string{
	"org.yaml": `apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: platform }
spec: { type: team, children: [] }
`,
	"templates/service/template.yaml": `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: { name: service, title: Service, tags: [go] }
spec:
  owner: group:default/platform
  type: service
  parameters:
    - title: Service
      required: [name, owner]
      properties:
        name: { type: string, pattern: '^[a-z][a-z0-9-]*$' }
        owner: { type: string, ui:field: OwnerPicker }
    - title: Options
      properties:
        fail: { type: boolean, default: false }
  steps:
    - id: fetch
      name: Fetch skeleton
      action: fetch:template
      input:
        url: ./skeleton
        values: { name: '${{ parameters.name }}', owner: '${{ parameters.owner }}' }
    - id: check
      if: ${{ parameters.fail }}
      action: fs:rename
      input: { files: [{ from: missing.txt, to: other.txt }] }
    - id: publish
      action: publish:git
      input:
        repoUrl: atrium?owner=platform&repo=${{ parameters.name }}
    - id: register
      action: catalog:register
      input:
        repoContentsUrl: ${{ steps.publish.output.repoContentsUrl }}
        catalogInfoPath: /catalog-info.yaml
  output:
    links:
      - title: Repository
        url: ${{ steps.publish.output.remoteUrl }}
      - title: Open in catalog
        entityRef: ${{ steps.register.output.entityRef }}
`,
	"templates/service/skeleton/catalog-info.yaml": `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: ${{ values.name }}
spec:
  type: service
  lifecycle: experimental
  owner: ${{ values.owner }}
`,
	"templates/service/skeleton/README.md": "# ${{ values.name }}\n",
	"templates/slow/template.yaml": `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: { name: slow }
spec:
  type: service
  steps:
    - id: first
      action: fetch:plain:file
      input: { url: ./file.txt, targetPath: first.txt }
    - id: wait
      action: debug:wait
      input: { seconds: '${{ parameters.seconds }}' }
    - id: last
      action: debug:log
      input: { message: done, listWorkspace: true }
`,
	"templates/slow/file.txt":                            "hello\n",
	"templates/local/skeleton/README.md":                 "# ${{ values.name }}\n",
	"templates/local/skeleton/src/${{ values.name }}.go": "package ${{ values.name | replace('-', '') }}\n",
	"templates/local/template.yaml": `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: { name: local }
spec:
  type: service
  parameters: { required: [name], properties: { name: { type: string } } }
  steps:
    - id: fetch
      action: fetch:template
      input: { url: ./skeleton, values: { name: '${{ parameters.name }}' } }
    - id: log
      action: debug:log
      input: { message: 'made ${{ parameters.name }}', listWorkspace: true }
`,
	"all.yaml": `apiVersion: backstage.io/v1alpha1
kind: Location
metadata: { name: all }
spec:
  targets: [./org.yaml, ./templates/service/template.yaml, ./templates/slow/template.yaml, ./templates/local/template.yaml]
`,
}

func scaffolderConfig(dir string) string {
	return fmt.Sprintf(`catalog:
  rules: [{ allow: [Component, Group, User, Location, Template, System, API, Resource, Domain] }]
  locations: [{ type: file, target: %q }]
atrium:
  allowedLocationTypes: [file, url]
  scaffolder: { staleTaskAfter: 2s }
`, filepath.Join(dir, "all.yaml"))
}

type sclient struct {
	t    testing.TB
	base string
}

func (c sclient) do(method, path string, body any) (int, []byte) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		r = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, c.base+path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, out
}

func (c sclient) json(method, path string, body any, wantStatus int, v any) {
	c.t.Helper()
	status, out := c.do(method, path, body)
	if status != wantStatus {
		c.t.Fatalf("%s %s: got %d %s, want %d", method, path, status, out, wantStatus)
	}
	if v != nil {
		if err := json.Unmarshal(out, v); err != nil {
			c.t.Fatalf("%s %s: %v in %s", method, path, err, out)
		}
	}
}

type taskJSON struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	State  struct {
		Steps  map[string]struct{ Status string } `json:"steps"`
		Output map[string]any                     `json:"output"`
		Error  string                             `json:"error"`
	} `json:"state"`
}

type eventJSON struct {
	ID   int64  `json:"id"`
	Type string `json:"type"`
	Body struct {
		Message string `json:"message"`
		StepID  string `json:"stepId"`
		Status  string `json:"status"`
	} `json:"body"`
}

// waitDone long-polls the events of a task until its completion event.
func (c sclient) waitDone(id string) []eventJSON {
	c.t.Helper()
	var all []eventJSON
	var after int64
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		var evs []eventJSON
		c.json("GET", fmt.Sprintf("/api/scaffolder/v2/tasks/%s/events?after=%d", id, after), nil, 200, &evs)
		for _, e := range evs {
			all = append(all, e)
			after = e.ID
			if e.Type == "completion" {
				return all
			}
		}
	}
	c.t.Fatalf("task %s did not complete; events: %+v", id, all)
	return nil
}

func TestScaffolderAPI(t *testing.T) {
	for _, db := range apptest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) { testScaffolderAPI(t, db.YAML) })
	}
}

func testScaffolderAPI(t *testing.T, dbYAML string) {
	dir := t.TempDir()
	apptest.WriteFilesTo(t, dir, scaffolderFiles)
	srv := apptest.StartServer(t, scaffolderConfig(dir)+dbYAML)
	c := sclient{t: t, base: srv.BaseURL}
	const v2 = "/api/scaffolder/v2"

	var actions []struct{ ID string }
	c.json("GET", v2+"/actions", nil, 200, &actions)
	ids := map[string]bool{}
	for _, a := range actions {
		ids[a.ID] = true
	}
	for _, want := range []string{"fetch:plain", "fetch:plain:file", "fetch:template", "fetch:template:file", "fs:delete", "fs:rename", "fs:readdir", "debug:log", "debug:wait", "catalog:register", "catalog:write", "catalog:fetch", "publish:git"} {
		if !ids[want] {
			t.Errorf("GET /actions lacks %s", want)
		}
	}

	var schema struct {
		Title string
		Steps []struct{ Title string }
	}
	c.json("GET", v2+"/templates/default/template/service/parameter-schema", nil, 200, &schema)
	if schema.Title != "Service" || len(schema.Steps) != 2 || schema.Steps[1].Title != "Options" {
		t.Errorf("parameter schema: got %+v", schema)
	}
	c.json("GET", v2+"/templates/default/template/missing/parameter-schema", nil, 404, nil)

	var verr struct {
		Errors []struct{ Property, Message string }
	}
	c.json("POST", v2+"/tasks", map[string]any{"templateRef": "template:default/service", "values": map[string]any{"name": "Bad Name"}}, 400, &verr)
	if len(verr.Errors) < 2 {
		t.Errorf("validation errors: got %+v, want the pattern of name and the missing owner", verr.Errors)
	}

	var created struct{ ID string }
	c.json("POST", v2+"/tasks", map[string]any{"templateRef": "template:default/service",
		"values": map[string]any{"name": "billing", "owner": "group:default/platform"}}, 201, &created)
	evs := c.waitDone(created.ID)
	var task taskJSON
	c.json("GET", v2+"/tasks/"+created.ID, nil, 200, &task)
	if task.Status != "completed" {
		t.Fatalf("task: got %s (%s), events %+v", task.Status, task.State.Error, evs)
	}
	links, _ := task.State.Output["links"].([]any)
	if len(links) != 2 || links[1].(map[string]any)["entityRef"] != "component:default/billing" {
		t.Errorf("output links: got %v", links)
	}
	var entity struct{ Metadata struct{ Name string } }
	c.json("GET", "/api/catalog/entities/by-name/component/default/billing", nil, 200, &entity)

	if git, err := exec.LookPath("git"); err == nil {
		out := filepath.Join(t.TempDir(), "billing")
		cmd := exec.Command(git, "clone", srv.BaseURL+"/git/platform/billing.git", out)
		cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git clone: %v\n%s", err, msg)
		}
		readme, _ := os.ReadFile(filepath.Join(out, "README.md"))
		if string(readme) != "# billing\n" {
			t.Errorf("cloned README: got %q", readme)
		}
	}

	// A second run with the same name fails at publish:git; retry after
	// removing the cause is not possible, but the failed step is reported.
	c.json("POST", v2+"/tasks", map[string]any{"templateRef": "template:default/service",
		"values": map[string]any{"name": "billing", "owner": "group:default/platform"}}, 201, &created)
	c.waitDone(created.ID)
	c.json("GET", v2+"/tasks/"+created.ID, nil, 200, &task)
	if task.Status != "failed" || task.State.Steps["publish"].Status != "failed" || task.State.Steps["fetch"].Status != "completed" {
		t.Errorf("duplicate repository: got %s, steps %+v", task.Status, task.State.Steps)
	}
	// Retry resumes from the failed step: fetch is not run again (and
	// publish fails again, since the repository still exists).
	before := c.waitDone(created.ID)
	c.json("POST", v2+"/tasks/"+created.ID+"/retry", map[string]any{}, 201, nil)
	var retried []eventJSON
	after := before[len(before)-1].ID
	for done := false; !done; {
		var evs []eventJSON
		c.json("GET", fmt.Sprintf("%s/tasks/%s/events?after=%d", v2, created.ID, after), nil, 200, &evs)
		for _, e := range evs {
			retried = append(retried, e)
			after = e.ID
			done = done || e.Type == "completion"
		}
	}
	for _, e := range retried {
		if e.Body.StepID == "fetch" && e.Body.Status == "processing" {
			t.Errorf("retry ran the finished fetch step again")
		}
	}
	c.json("GET", v2+"/tasks/"+created.ID, nil, 200, &task)
	if task.Status != "failed" || task.State.Steps["fetch"].Status != "completed" {
		t.Errorf("after retry: got %s, steps %+v", task.Status, task.State.Steps)
	}

	var list struct {
		Tasks      []taskJSON `json:"tasks"`
		TotalTasks int        `json:"totalTasks"`
	}
	c.json("GET", v2+"/tasks?status=completed&limit=10", nil, 200, &list)
	if list.TotalTasks != 1 || len(list.Tasks) != 1 {
		t.Errorf("completed tasks: got %d (%d listed), want 1", list.TotalTasks, len(list.Tasks))
	}
	c.json("GET", v2+"/tasks?createdBy=user:default/guest", nil, 200, &list)
	if list.TotalTasks != 2 {
		t.Errorf("tasks created by the guest: got %d, want 2", list.TotalTasks)
	}
	c.json("GET", v2+"/tasks?limit=0", nil, 400, nil)
	c.json("GET", v2+"/tasks/nope", nil, 404, nil)

	// Cancel a waiting task; the SSE stream ends with cancelled and completion.
	c.json("POST", v2+"/tasks", map[string]any{"templateRef": "template:default/slow", "values": map[string]any{"seconds": 60}}, 201, &created)
	res, err := http.Get(srv.BaseURL + v2 + "/tasks/" + created.ID + "/eventstream")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("eventstream content type: got %q", ct)
	}
	sc := bufio.NewScanner(res.Body)
	var types []string
	cancelled := false
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "event: ") {
			types = append(types, strings.TrimPrefix(line, "event: "))
		}
		if !cancelled && strings.Contains(line, `"stepId":"wait"`) {
			var st struct{ Status string }
			c.json("POST", v2+"/tasks/"+created.ID+"/cancel", nil, 200, &st)
			cancelled = true
		}
	}
	if len(types) < 2 || types[len(types)-1] != "completion" || types[len(types)-2] != "cancelled" {
		t.Errorf("event stream types: got %v, want ... cancelled, completion", types)
	}
	c.json("GET", v2+"/tasks/"+created.ID, nil, 200, &task)
	if task.Status != "cancelled" || task.State.Steps["last"].Status != "" {
		t.Errorf("cancelled task: got %s, steps %+v", task.Status, task.State.Steps)
	}

	// Dry run: files come back rendered; nothing is published.
	tpl := map[string]any{"apiVersion": "scaffolder.backstage.io/v1beta3", "kind": "Template",
		"metadata": map[string]any{"name": "dry"},
		"spec": map[string]any{"type": "x", "steps": []any{
			map[string]any{"id": "f", "action": "fetch:template", "input": map[string]any{"url": "./sk", "values": map[string]any{"n": "${{ parameters.n }}"}}},
			map[string]any{"id": "p", "action": "publish:git", "input": map[string]any{"repoUrl": "x?owner=o&repo=dry"}},
		}}}
	var dry struct {
		DirectoryContents []struct{ Path, Base64Content string }
		Steps             []struct{ ID, Status string }
		Log               []any
	}
	c.json("POST", v2+"/dry-run", map[string]any{"template": tpl, "values": map[string]any{"n": "x1"},
		"directoryContents": []any{map[string]any{"path": "sk/${{ values.n }}.txt", "base64Content": "bj0ke3sgdmFsdWVzLm4gfX0="}}}, 200, &dry)
	if len(dry.DirectoryContents) != 1 || dry.DirectoryContents[0].Path != "x1.txt" || dry.DirectoryContents[0].Base64Content != "bj14MQ==" {
		t.Errorf("dry run files: got %+v", dry.DirectoryContents)
	}
	if len(dry.Steps) != 2 || dry.Steps[1].Status != "completed" || len(dry.Log) == 0 {
		t.Errorf("dry run steps: got %+v", dry.Steps)
	}
	if _, err := os.Stat(filepath.Join(srv.Dir, "data", "git", "o", "dry")); err == nil {
		t.Errorf("the dry run published a repository")
	}

	var ac struct{ Results []struct{ ID string } }
	c.json("POST", v2+"/autocomplete/catalog/owners", map[string]any{"context": map[string]any{}}, 200, &ac)
	if len(ac.Results) == 0 || ac.Results[0].ID != "group:default/platform" {
		t.Errorf("owner autocomplete: got %+v", ac.Results)
	}
}

// TestScaffolderRestart stops Atrium while a task waits in its second
// step and starts a new Atrium on the same database: the task finishes,
// and its first step is not run again.
func TestScaffolderRestart(t *testing.T) {
	dir := t.TempDir()
	apptest.WriteFilesTo(t, dir, scaffolderFiles)
	// Both servers use the same database and data directory.
	cfg := scaffolderConfig(dir) + fmt.Sprintf("backend:\n  database: { client: sqlite, connection: %q }\n", filepath.Join(dir, "atrium.db"))
	cfg = strings.Replace(cfg, "atrium:\n", fmt.Sprintf("atrium:\n  dataDir: %q\n", filepath.Join(dir, "data")), 1)

	first := apptest.StartServer(t, cfg)
	c := sclient{t: t, base: first.BaseURL}
	var created struct{ ID string }
	c.json("POST", "/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/slow", "values": map[string]any{"seconds": 3}}, 201, &created)
	// Wait until the wait step runs, then stop the whole server.
	var after int64
	for inWait := false; !inWait; {
		var evs []eventJSON
		c.json("GET", fmt.Sprintf("/api/scaffolder/v2/tasks/%s/events?after=%d", created.ID, after), nil, 200, &evs)
		for _, e := range evs {
			after = e.ID
			if e.Body.StepID == "wait" && e.Body.Status == "processing" {
				inWait = true
			}
		}
	}
	first.Stop()

	second := apptest.StartServer(t, cfg)
	c = sclient{t: t, base: second.BaseURL}
	evs := c.waitDone(created.ID)
	var task taskJSON
	c.json("GET", "/api/scaffolder/v2/tasks/"+created.ID, nil, 200, &task)
	if task.Status != "completed" {
		t.Fatalf("after restart: got %s (%s)", task.Status, task.State.Error)
	}
	starts := map[string]int{}
	recovered := false
	for _, e := range evs {
		if e.Body.Status == "processing" && e.Body.StepID != "" {
			starts[e.Body.StepID]++
		}
		if e.Type == "recovered" {
			recovered = true
		}
	}
	if starts["first"] != 1 || starts["wait"] != 2 || starts["last"] != 1 {
		t.Errorf("step starts: got %v, want first 1, wait 2 (interrupted, resumed), last 1", starts)
	}
	if !recovered {
		t.Errorf("no recovered event")
	}
}

// TestDemoTemplates runs each demo template end to end: the new entity
// appears in the catalog, and its repository clones.
func TestDemoTemplates(t *testing.T) {
	srv := apptest.StartServer(t, `catalog:
  rules: [{ allow: [Component, API, Resource, System, Domain, Group, User, Location, Template] }]
atrium:
  demo: true
  allowedLocationTypes: [file, url]
`)
	c := sclient{t: t, base: srv.BaseURL}
	tests := []struct {
		template string
		values   map[string]any
		entity   string
	}{
		{"go-service", map[string]any{"name": "parcel-api", "owner": "group:default/tracking-team", "port": 9090}, "component:default/parcel-api"},
		{"static-website", map[string]any{"name": "status-page", "owner": "group:default/platform-team"}, "component:default/status-page"},
		{"docs-site", map[string]any{"name": "runbooks", "owner": "group:default/platform-team", "withHowTo": false}, "component:default/runbooks"},
		{"new-api", map[string]any{"name": "parcels", "owner": "group:default/tracking-team", "resources": []any{"parcels", "scans"}}, "api:default/parcels"},
	}
	for _, tt := range tests {
		t.Run(tt.template, func(t *testing.T) {
			c := sclient{t: t, base: c.base}
			var created struct{ ID string }
			c.json("POST", "/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/" + tt.template, "values": tt.values}, 201, &created)
			c.waitDone(created.ID)
			var task taskJSON
			c.json("GET", "/api/scaffolder/v2/tasks/"+created.ID, nil, 200, &task)
			if task.Status != "completed" {
				t.Fatalf("task: got %s (%s)", task.Status, task.State.Error)
			}
			links, _ := task.State.Output["links"].([]any)
			if len(links) != 2 || links[1].(map[string]any)["entityRef"] != tt.entity {
				t.Errorf("links: got %v, want the entity %s", links, tt.entity)
			}
			ref := strings.SplitN(tt.entity, ":", 2)
			kind, name := ref[0], strings.TrimPrefix(ref[1], "default/")
			var e struct {
				Spec map[string]any
			}
			c.json("GET", "/api/catalog/entities/by-name/"+kind+"/default/"+name, nil, 200, &e)
			if tt.template == "new-api" {
				def, _ := e.Spec["definition"].(string)
				if !strings.Contains(def, "/scans:") || !strings.Contains(def, "title: parcels") {
					t.Errorf("API definition: got %q", def)
				}
			}
		})
	}
	// The docs site left the how-to page out, as asked.
	if _, err := os.Stat(filepath.Join(srv.Dir, "data", "git", "platform-team", "runbooks", "docs", "how-to.md")); err == nil {
		t.Errorf("docs-site: how-to.md was created with withHowTo false")
	}
	if _, err := os.Stat(filepath.Join(srv.Dir, "data", "git", "tracking-team", "parcel-api", "cmd", "parcel-api", "main.go")); err != nil {
		t.Errorf("go-service: cmd/parcel-api/main.go: %v", err)
	}
}

// BenchmarkScaffolderTasks submits 200 tasks of a local template at once
// and waits for all of them: none may be lost. It reports tasks/s and the
// 95th percentile of the time from creation to the first log line.
//
//	go test ./internal/app -run '^$' -bench ScaffolderTasks -benchtime 1x
func BenchmarkScaffolderTasks(b *testing.B) {
	const n = 200
	for range b.N {
		dir := b.TempDir()
		apptest.WriteFilesTo(b, dir, scaffolderFiles)
		srv := apptest.StartServer(b, strings.Replace(scaffolderConfig(dir), "atrium:\n", "atrium:\n  rateLimit: { enabled: false }\n", 1))
		c := sclient{t: b, base: srv.BaseURL}
		start := time.Now()
		ids := make([]string, n)
		errs := make(chan error, n)
		for i := range n {
			go func() {
				var created struct{ ID string }
				raw, _ := json.Marshal(map[string]any{"templateRef": "template:default/local", "values": map[string]any{"name": fmt.Sprintf("svc-%d", i)}})
				res, err := http.Post(srv.BaseURL+"/api/scaffolder/v2/tasks", "application/json", bytes.NewReader(raw))
				if err == nil {
					err = json.NewDecoder(res.Body).Decode(&created)
					res.Body.Close()
					if res.StatusCode != 201 {
						err = fmt.Errorf("status %d", res.StatusCode)
					}
				}
				ids[i] = created.ID
				errs <- err
			}()
		}
		for range n {
			if err := <-errs; err != nil {
				b.Fatalf("create: %v", err)
			}
		}
		var firstLog []time.Duration
		for _, id := range ids {
			evs := c.waitDone(id)
			var task struct {
				Status    string
				CreatedAt time.Time
			}
			c.json("GET", "/api/scaffolder/v2/tasks/"+id, nil, 200, &task)
			if task.Status != "completed" {
				var full taskJSON
				c.json("GET", "/api/scaffolder/v2/tasks/"+id, nil, 200, &full)
				b.Fatalf("task %s: %s (%s)", id, task.Status, full.State.Error)
			}
			var first struct{ CreatedAt time.Time }
			c.json("GET", fmt.Sprintf("/api/scaffolder/v2/tasks/%s/events?after=%d", id, evs[0].ID-1), nil, 200, &[]any{&first})
			firstLog = append(firstLog, first.CreatedAt.Sub(task.CreatedAt))
		}
		elapsed := time.Since(start)
		sort.Slice(firstLog, func(i, j int) bool { return firstLog[i] < firstLog[j] })
		b.ReportMetric(float64(n)/elapsed.Seconds(), "tasks/s")
		b.ReportMetric(float64(firstLog[n*95/100].Milliseconds()), "p95-first-log-ms")
		srv.Stop()
	}
}
