package gitlab_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/app/apptest"
	"github.com/atrium-portal/atrium/internal/integrations/gitlab/gitlabsim"
	"github.com/atrium-portal/atrium/plugin"
	"github.com/atrium-portal/atrium/plugin/plugintest"
	"github.com/atrium-portal/atrium/plugins"
	"github.com/atrium-portal/atrium/plugins/gitlab"
)

// reporter records what an action reports.
type reporter struct {
	mu      sync.Mutex
	logs    []string
	outputs map[string]any
}

func (r *reporter) Log(level, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logs = append(r.logs, level+": "+msg)
}

func (r *reporter) Output(name string, v any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.outputs == nil {
		r.outputs = map[string]any{}
	}
	r.outputs[name] = v
}

func (r *reporter) Progress(int, string) {}

type bundle struct {
	sim  *gitlabsim.Sim
	p    *gitlab.Plugin
	host string
}

func newBundle(t testing.TB, extra string) *bundle {
	t.Helper()
	return newBundleWith(t, func(string) string { return extra })
}

// newBundleWith is newBundle with configuration depending on the host.
func newBundleWith(t testing.TB, extraFor func(host string) string) *bundle {
	t.Helper()
	sim := gitlabsim.New(simToken, "")
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	sim.WebURL = srv.URL
	host := strings.TrimPrefix(srv.URL, "http://")
	cfg := fmt.Sprintf(`{"instances":[{"host":%q,"apiBaseUrl":%q,"token":%q,"maxRetries":-1}]%s}`, host, srv.URL, simToken, extraFor(host))
	p := gitlab.New(gitlab.Options{})
	if err := plugins.ValidateConfig(p.Info(), json.RawMessage(cfg)); err != nil {
		t.Fatal(err)
	}
	if err := p.Provision(context.Background(), plugin.Host{Logger: slog.New(slog.DiscardHandler)}, json.RawMessage(cfg)); err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &bundle{sim: sim, p: p, host: host}
}

func (b *bundle) action(t *testing.T, id string) plugin.Action {
	t.Helper()
	for _, a := range b.p.Components().Actions {
		if a.ID() == id {
			return a
		}
	}
	t.Fatalf("no action %s", id)
	return nil
}

func TestPublishResumesAfterRestart(t *testing.T) {
	b := newBundle(t, "")
	b.sim.AddGroup("platform")
	// The step made the project, then Atrium stopped before the commit.
	pid := b.sim.AddProject("platform/svc", "main", nil)
	ws := apptest.WriteFiles(t, map[string]string{"README.md": "# svc\n", "bin/run.sh": "#!/bin/sh\n", "logo.bin": "\xff\xfe\x00"})
	var rep reporter
	in := map[string]any{"repoUrl": b.host + "?owner=platform&repo=svc"}
	if err := b.action(t, "publish:gitlab").Run(context.Background(), plugin.ActionRequest{Input: in, Workspace: ws}, &rep); err != nil {
		t.Fatal(err)
	}
	if got := rep.outputs["projectId"]; got != pid {
		t.Errorf("projectId = %v, want %d", got, pid)
	}
	if got, _ := b.sim.File("platform/svc", "main", "logo.bin"); got != "\xff\xfe\x00" {
		t.Errorf("binary file = %q", got)
	}
	// Again: the tree is there, nothing is committed twice.
	before := len(b.sim.Requests())
	var rep2 reporter
	if err := b.action(t, "publish:gitlab").Run(context.Background(), plugin.ActionRequest{Input: in, Workspace: ws}, &rep2); err != nil {
		t.Fatal(err)
	}
	for _, r := range b.sim.Requests()[before:] {
		if strings.HasPrefix(r, "POST") {
			t.Errorf("the second run did %s", r)
		}
	}
	if rep2.outputs["commitHash"] != rep.outputs["commitHash"] {
		t.Errorf("commitHash %v, want %v", rep2.outputs["commitHash"], rep.outputs["commitHash"])
	}
	// Another workspace for the same project: a conflict.
	err := b.action(t, "publish:gitlab").Run(context.Background(), plugin.ActionRequest{Input: in, Workspace: apptest.WriteFiles(t, map[string]string{"other.txt": "x"})}, &reporter{})
	if plugin.KindOf(err) != plugin.ErrConflict || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("err = %v, want a conflict", err)
	}
}

func TestPublishErrors(t *testing.T) {
	b := newBundle(t, `,"maxCommitFiles":2`)
	ws := apptest.WriteFiles(t, map[string]string{"a": "1"})
	for _, tc := range []struct {
		input map[string]any
		ws    string
		kind  plugin.ErrorKind
		msg   string
	}{
		{map[string]any{"repoUrl": b.host + "?repo=x"}, ws, plugin.ErrInvalid, "has no owner"},
		{map[string]any{"repoUrl": "gitlab.other.com?owner=g&repo=x"}, ws, plugin.ErrInvalid, "is not a configured GitLab instance"},
		{map[string]any{"repoUrl": b.host + "?owner=missing&repo=x"}, ws, plugin.ErrNotFound, "gitlab:group:ensureExists"},
		{map[string]any{"repoUrl": b.host + "?owner=g&repo=x", "sourcePath": "../etc"}, ws, plugin.ErrInvalid, "inside the workspace"},
		{map[string]any{"repoUrl": b.host + "?owner=g&repo=x"}, apptest.WriteFiles(t, map[string]string{"a": "1", "b": "2", "c": "3"}), plugin.ErrInvalid, "maxCommitFiles"},
	} {
		err := b.action(t, "publish:gitlab").Run(context.Background(), plugin.ActionRequest{Input: tc.input, Workspace: tc.ws}, &reporter{})
		if plugin.KindOf(err) != tc.kind || !strings.Contains(fmt.Sprint(err), tc.msg) {
			t.Errorf("%v: err = %v, want %s containing %q", tc.input, err, tc.kind, tc.msg)
		}
	}
}

func TestMergeRequestComputesChanges(t *testing.T) {
	b := newBundle(t, "")
	b.sim.AddProject("platform/svc", "main", map[string]string{"README.md": "old", "keep/a.txt": "same", "config/old.yaml": "x", "config/same.yaml": "y"})
	ws := apptest.WriteFiles(t, map[string]string{"README.md": "new", "keep/a.txt": "same"})
	var rep reporter
	in := map[string]any{"repoUrl": b.host + "?owner=platform&repo=svc", "title": "Update", "branchName": "update"}
	if err := b.action(t, "publish:gitlab:merge-request").Run(context.Background(), plugin.ActionRequest{Input: in, Workspace: ws}, &rep); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.sim.File("platform/svc", "update", "README.md"); got != "new" {
		t.Errorf("README on update = %q", got)
	}
	if _, ok := b.sim.File("platform/svc", "update", "config/old.yaml"); ok {
		t.Error("a file missing from the workspace was kept")
	}
	if got, _ := b.sim.File("platform/svc", "main", "README.md"); got != "old" {
		t.Errorf("main changed: %q", got)
	}
	if rep.outputs["targetBranchName"] != "main" || !strings.HasSuffix(fmt.Sprint(rep.outputs["mergeRequestUrl"]), "/-/merge_requests/1") {
		t.Errorf("outputs = %v", rep.outputs)
	}
	// A retry finds the branch and the merge request.
	if err := b.action(t, "publish:gitlab:merge-request").Run(context.Background(), plugin.ActionRequest{Input: in, Workspace: ws}, &reporter{}); err != nil {
		t.Fatal(err)
	}
	if _, mrs, _ := b.sim.Count(); mrs != 1 {
		t.Errorf("merge requests = %d, want 1", mrs)
	}
	// As a task's step, the merge request is an operation; the step run
	// again (after a restart) resumes it instead of opening a second one.
	ops := plugintest.NewOperations(t)
	in3 := map[string]any{"repoUrl": b.host + "?owner=platform&repo=svc", "title": "Docs", "branchName": "docs"}
	stepReq := plugin.ActionRequest{TaskID: "task-mr", StepID: "mr", Input: in3, Workspace: ws, Operations: ops.For("gitlab", "task-mr", "mr")}
	for range 2 {
		if err := b.action(t, "publish:gitlab:merge-request").Run(context.Background(), stepReq, &reporter{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, mrs, _ := b.sim.Count(); mrs != 2 {
		t.Errorf("merge requests = %d, want 2 (the step's, opened once)", mrs)
	}
	mrOps := ops.List(t, "task-mr")
	if len(mrOps) != 1 || mrOps[0].Kind != "merge-request" || mrOps[0].State != plugin.OperationSucceeded || mrOps[0].ExternalID != "!2" ||
		!strings.HasSuffix(mrOps[0].ExternalURL, "/-/merge_requests/2") || !strings.HasPrefix(mrOps[0].System, "gitlab:") {
		t.Errorf("operations of the step: got %+v, want one succeeded merge request !2", mrOps)
	}
	// targetPath limits the changes to a directory.
	ws2 := apptest.WriteFiles(t, map[string]string{"new.yaml": "z"})
	in2 := map[string]any{"repoUrl": b.host + "?owner=platform&repo=svc", "title": "Config", "branchName": "config", "targetPath": "config"}
	if err := b.action(t, "publish:gitlab:merge-request").Run(context.Background(), plugin.ActionRequest{Input: in2, Workspace: ws2}, &reporter{}); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]bool{"config/new.yaml": true, "config/old.yaml": false, "README.md": true, "keep/a.txt": true} {
		if _, ok := b.sim.File("platform/svc", "config", file); ok != want {
			t.Errorf("%s on config: present %v, want %v", file, ok, want)
		}
	}
}

func TestEnsureGroup(t *testing.T) {
	b := newBundle(t, "")
	b.sim.AddGroup("platform")
	var rep reporter
	in := map[string]any{"repoUrl": b.host, "path": []any{"platform", "services/payments"}}
	if err := b.action(t, "gitlab:group:ensureExists").Run(context.Background(), plugin.ActionRequest{Input: in}, &rep); err != nil {
		t.Fatal(err)
	}
	if _, _, groups := b.sim.Count(); groups != 3 {
		t.Errorf("groups = %d, want 3", groups)
	}
	if rep.outputs["groupPath"] != "platform/services/payments" {
		t.Errorf("outputs = %v", rep.outputs)
	}
	var rep2 reporter
	if err := b.action(t, "gitlab:group:ensureExists").Run(context.Background(), plugin.ActionRequest{Input: in}, &rep2); err != nil {
		t.Fatal(err)
	}
	if rep2.outputs["groupId"] != rep.outputs["groupId"] {
		t.Errorf("second run: group %v, want %v", rep2.outputs["groupId"], rep.outputs["groupId"])
	}
}

func TestProjectVariable(t *testing.T) {
	b := newBundle(t, "")
	b.sim.AddProject("platform/svc", "main", nil)
	act := b.action(t, "gitlab:projectVariable:create")
	var rep reporter
	in := map[string]any{"repoUrl": b.host + "?owner=platform&repo=svc", "key": "TOKEN", "value": "first-secret-value", "variableMasked": true}
	if err := act.Run(context.Background(), plugin.ActionRequest{Input: in}, &rep); err != nil {
		t.Fatal(err)
	}
	in["value"] = "second-secret-value"
	if err := act.Run(context.Background(), plugin.ActionRequest{Input: in}, &rep); err != nil {
		t.Fatal(err)
	}
	if v, masked, _, ok := b.sim.Variable("platform/svc", "TOKEN", "*"); !ok || v != "second-secret-value" || !masked {
		t.Errorf("variable = %q masked %v found %v", v, masked, ok)
	}
	if strings.Contains(strings.Join(rep.logs, "\n"), "secret-value") {
		t.Errorf("the log shows the value: %v", rep.logs)
	}
	in["value"] = "short"
	if err := act.Run(context.Background(), plugin.ActionRequest{Input: in}, &rep); plugin.KindOf(err) != plugin.ErrInvalid || strings.Contains(err.Error(), "short") {
		t.Errorf("short masked value: err = %v, want invalid without the value", err)
	}
}

func TestReader(t *testing.T) {
	b := newBundle(t, "")
	b.sim.AddProject("platform/private", "main", map[string]string{"docs/catalog-info.yaml": "kind: Component\n"})
	web := b.sim.WebURL
	ctx := context.Background()
	for _, tc := range []struct {
		url  string
		want string
		kind plugin.ErrorKind
	}{
		{web + "/platform/private/-/blob/main/docs/catalog-info.yaml", "kind: Component\n", ""},
		{web + "/platform/private/-/raw/main/docs/catalog-info.yaml", "kind: Component\n", ""},
		{web + "/platform/private/-/blob/main/missing.yaml", "", plugin.ErrNotFound},
		{web + "/platform/private/tree/main", "", plugin.ErrInvalid},
	} {
		if !b.p.HandlesURL(tc.url) {
			t.Errorf("HandlesURL(%s) = false", tc.url)
			continue
		}
		data, err := b.p.ReadURL(ctx, tc.url)
		if tc.kind != "" {
			if plugin.KindOf(err) != tc.kind {
				t.Errorf("%s: err = %v, want %s", tc.url, err, tc.kind)
			}
			continue
		}
		if err != nil || string(data) != tc.want {
			t.Errorf("%s: %q, %v", tc.url, data, err)
		}
	}
	if b.p.HandlesURL("https://gitlab.com/a/b/-/blob/main/x.yaml") {
		t.Error("HandlesURL accepts a host that is not configured")
	}
}

func TestConfigErrors(t *testing.T) {
	p := gitlab.New(gitlab.Options{})
	for _, tc := range []struct{ cfg, msg string }{
		{`{"instances":[{"host":"gitlab.example.com","timeout":"soon"}]}`, "plugins.gitlab.config.instances[0].timeout"},
		{`{"instances":[{"host":"a.example.com"}],"discovery":[{"host":"b.example.com","groups":["g"]}]}`, "plugins.gitlab.config.discovery[0].host: b.example.com is not one of the configured instances"},
		{`{"instances":[{"host":"a.example.com"},{"host":"A.example.com"}]}`, "configured twice"},
	} {
		err := p.Provision(context.Background(), plugin.Host{}, json.RawMessage(tc.cfg))
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: err = %v, want %q", tc.cfg, err, tc.msg)
		}
	}
	if err := plugins.ValidateConfig(p.Info(), json.RawMessage(`{"instances":[{"host":"x y"}]}`)); err == nil || !strings.Contains(err.Error(), "plugins.gitlab.config.instances.0.host") {
		t.Errorf("schema: err = %v", err)
	}
	if err := p.Provision(context.Background(), plugin.Host{}, json.RawMessage(`{"instances":[{"host":"gitlab.example.com"}]}`)); err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(context.Background()); err == nil || !strings.Contains(err.Error(), "instances[0].token") {
		t.Errorf("no token: err = %v", err)
	}
}

func TestDemoSimulator(t *testing.T) {
	p := gitlab.New(gitlab.Options{Demo: true})
	if err := p.Provision(context.Background(), plugin.Host{BaseURL: "http://atrium.test"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !p.Simulated(gitlab.SimulatedHost) || p.Simulator() == nil {
		t.Fatal("the demo has no simulated instance")
	}
	ws := apptest.WriteFiles(t, map[string]string{"README.md": "# demo\n"})
	var rep reporter
	var act plugin.Action
	for _, a := range p.Components().Actions {
		if a.ID() == "publish:gitlab" {
			act = a
		}
	}
	if err := act.Run(context.Background(), plugin.ActionRequest{Input: map[string]any{"repoUrl": gitlab.SimulatedHost + "?owner=demo&repo=svc"}, Workspace: ws}, &rep); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(rep.outputs["remoteUrl"]); got != "http://atrium.test/sim/gitlab/demo/svc.git" {
		t.Errorf("remoteUrl = %s", got)
	}
	// Atrium serves the simulator at /sim/gitlab/.
	rec := httptest.NewRecorder()
	p.Simulator().ServeHTTP(rec, httptest.NewRequest("GET", "/sim/gitlab/api/v4/projects/demo%2Fsvc/repository/files/README.md/raw?ref=main", nil))
	if rec.Code != http.StatusOK || rec.Body.String() != "# demo\n" {
		t.Errorf("GET through /sim/gitlab: %d %q", rec.Code, rec.Body.String())
	}
}

func TestDiscoveryScan(t *testing.T) {
	const entity = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: { name: %s }\nspec: { type: service, lifecycle: production, owner: team }\n"
	for _, tc := range []struct {
		max      int
		entities int // -1: the scan fails and emits nothing
	}{{10, 2}, {2, -1}} {
		b := newBundleWith(t, func(host string) string {
			return fmt.Sprintf(`,"discovery":[{"host":%q,"groups":["org"],"maxProjects":%d}]`, host, tc.max)
		})
		b.sim.AddProject("org/a", "main", map[string]string{"catalog-info.yaml": fmt.Sprintf(entity, "a")})
		b.sim.AddProject("org/sub/b", "main", map[string]string{"catalog-info.yaml": fmt.Sprintf(entity, "b")})
		b.sim.AddProject("org/sub/none", "main", map[string]string{"README.md": "x"})
		b.sim.AddProject("elsewhere/c", "main", map[string]string{"catalog-info.yaml": fmt.Sprintf(entity, "c")})
		provs := b.p.Components().Providers
		if len(provs) != 1 {
			t.Fatalf("providers = %d, want 1", len(provs))
		}
		ctx, cancel := context.WithCancel(context.Background())
		got := make(chan plugin.Mutation, 1)
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = provs[0].Run(ctx, func(_ context.Context, m plugin.Mutation) error { got <- m; return nil })
		}()
		// A scan that should emit gets a generous minute (CI's two cores
		// are busy); one that should fail is given 2s to emit wrongly.
		wait := time.Minute
		if tc.entities < 0 {
			wait = 2 * time.Second
		}
		select {
		case m := <-got:
			if tc.entities < 0 {
				t.Errorf("max %d: emitted %d entities, want the scan to fail", tc.max, len(m.Entities))
			} else if m.Type != plugin.MutationFull || len(m.Entities) != tc.entities {
				t.Errorf("max %d: %s mutation of %d entities, want full of %d", tc.max, m.Type, len(m.Entities), tc.entities)
			}
		case <-time.After(wait):
			if tc.entities >= 0 {
				t.Errorf("max %d: nothing emitted", tc.max)
			}
		}
		cancel()
		<-done
	}
}

// BenchmarkDiscoveryScan scans a group of 500 projects (each with a
// catalog-info.yaml, in 10 subgroups) on the simulated GitLab over HTTP
// on 127.0.0.1: one full mutation per iteration.
//
//	go test ./plugins/gitlab -run '^$' -bench DiscoveryScan -benchtime 3x
func BenchmarkDiscoveryScan(b *testing.B) {
	const n = 500
	bb := newBundleWith(b, func(host string) string {
		return fmt.Sprintf(`,"discovery":[{"host":%q,"groups":["org"]}]`, host)
	})
	for i := range n {
		name := fmt.Sprintf("svc-%03d", i)
		bb.sim.AddProject(fmt.Sprintf("org/team-%d/%s", i%10, name), "main", map[string]string{"catalog-info.yaml": "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: { name: " + name + " }\nspec: { type: service, lifecycle: production, owner: team }\n"})
	}
	prov := bb.p.Components().Providers[0]
	b.ResetTimer()
	for range b.N {
		ctx, cancel := context.WithCancel(context.Background())
		got := make(chan plugin.Mutation, 1)
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = prov.Run(ctx, func(_ context.Context, m plugin.Mutation) error { got <- m; return nil })
		}()
		m := <-got
		cancel()
		<-done
		if len(m.Entities) != n {
			b.Fatalf("entities = %d, want %d", len(m.Entities), n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/scan")
}
