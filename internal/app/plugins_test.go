package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/atrium-portal/atrium/internal/app"
	"github.com/atrium-portal/atrium/internal/app/apptest"
	"github.com/atrium-portal/atrium/internal/config"
	"github.com/atrium-portal/atrium/internal/pluginhost/rpc"
	"github.com/atrium-portal/atrium/plugin"
	"github.com/atrium-portal/atrium/plugin/plugintest"
)

// startWithPlugins starts Atrium like apptest.StartServer, with extra
// plugins (app.Options.Plugins).
func startWithPlugins(t *testing.T, configYAML string, extra ...plugin.Plugin) (*app.App, string) {
	t.Helper()
	a, err := newApp(t, configYAML, extra...)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var once sync.Once
	t.Cleanup(func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("run: %v", err)
			}
			_ = a.Close()
		})
	})
	select {
	case <-a.Ready():
	case err := <-done:
		t.Fatalf("stopped before it was ready: %v", err)
	}
	return a, "http://" + a.Addr().String()
}

func newApp(t *testing.T, configYAML string, extra ...plugin.Plugin) (*app.App, error) {
	t.Helper()
	dir := t.TempDir()
	base := fmt.Sprintf(`backend:
  listen: { host: 127.0.0.1, port: 0 }
  database: { client: sqlite, connection: %q }
catalog:
  processingInterval: false
atrium:
  dataDir: %q
  demo: false
  authz: { admins: [user:default/guest] }
`, filepath.Join(dir, "atrium.db"), filepath.Join(dir, "data"))
	basePath, testPath := filepath.Join(dir, "base.yaml"), filepath.Join(dir, "test.yaml")
	for p, content := range map[string]string{basePath: base, testPath: configYAML} {
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.Load([]string{basePath, testPath}, map[string]string{})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	a, err := app.New(context.Background(), cfg, app.Options{Logger: logger, Listener: ln, Plugins: extra})
	if err != nil {
		_ = ln.Close()
	}
	return a, err
}

var (
	helloOnce sync.Once
	helloBin  string
	helloErr  error
)

// helloPlugin starts examples/plugins/hello out of process.
func helloPlugin(t *testing.T) *rpc.Client {
	t.Helper()
	return plugintest.Start(t, helloBinary(t), rpc.StartOptions{CallTimeout: 2 * time.Second})
}

// helloBinary builds examples/plugins/hello once per process and returns
// the executable's path.
func helloBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the example plugin")
	}
	helloOnce.Do(func() {
		dir, err := os.MkdirTemp("", "atrium-app-hello-*")
		if err != nil {
			helloErr = err
			return
		}
		helloBin, helloErr = plugintest.BuildErr("../../examples/plugins/hello", dir)
	})
	if helloErr != nil {
		t.Fatal(helloErr)
	}
	return helloBin
}

func TestBuiltinPlugins(t *testing.T) {
	srv := apptest.StartServer(t, "")
	var got []string
	for _, p := range srv.App.Plugins() {
		got = append(got, p.ID+"="+p.Kind+"/"+p.State)
	}
	if want := "scaffolder-builtin=builtin/running"; !strings.Contains(strings.Join(got, " "), want) {
		t.Errorf("Plugins() = %v, want %s", got, want)
	}
	c := sclient{t: t, base: srv.BaseURL}
	var acts []struct{ ID string }
	c.json("GET", "/api/scaffolder/v2/actions", nil, 200, &acts)
	if !hasAction(acts, "fetch:template") {
		t.Errorf("actions %v lack fetch:template", acts)
	}

	off := apptest.StartServer(t, "plugins:\n  scaffolder-builtin: { enabled: false }\n")
	c = sclient{t: t, base: off.BaseURL}
	acts = nil
	c.json("GET", "/api/scaffolder/v2/actions", nil, 200, &acts)
	if hasAction(acts, "fetch:template") {
		t.Errorf("scaffolder-builtin disabled: actions still list fetch:template")
	}
	disabled := false
	for _, p := range off.App.Plugins() {
		disabled = disabled || (p.ID == "scaffolder-builtin" && p.State == app.PluginDisabled)
	}
	if !disabled {
		t.Errorf("disabled: Plugins() = %+v, want scaffolder-builtin disabled", off.App.Plugins())
	}
}

func hasAction(acts []struct{ ID string }, id string) bool {
	for _, a := range acts {
		if a.ID == id {
			return true
		}
	}
	return false
}

func TestPluginConfigErrors(t *testing.T) {
	for i, tc := range []struct {
		yaml string
		want []string
	}{
		{"plugins:\n  scaffolder-builtin: { config: { speed: 3 } }\n", []string{"plugins.scaffolder-builtin.config: plugin scaffolder-builtin takes no configuration", "test.yaml:2"}},
		{"plugins:\n  scaffolder-builtin: { enabled: maybe }\n", []string{"plugins.scaffolder-builtin.enabled", "true or false"}},
		{"plugins:\n  Bad_Id: {}\n", []string{"plugins.Bad_Id", "not a plugin id"}},
	} {
		_, err := newApp(t, tc.yaml)
		if err == nil {
			t.Errorf("%d: app started", i)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%d: error %q does not contain %q", i, err, w)
			}
		}
	}
	if testing.Short() {
		return
	}
	_, err := newApp(t, "plugins:\n  hello: { config: { refresh: soon, colour: red } }\n", helloPlugin(t))
	for _, w := range []string{"plugins.hello.config.refresh:", "plugins.hello.config:", "colour"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("hello with a bad configuration: error %v does not contain %q", err, w)
		}
	}
}

const helloFiles = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: { name: greet }
spec:
  type: service
  parameters: { required: [name], properties: { name: { type: string } } }
  steps:
    - id: greet
      action: hello:greet
      input: { name: '${{ parameters.name }}', file: out/greeting.txt }
    - id: list
      action: debug:log
      input: { message: listed, listWorkspace: true }
  output:
    text:
      - title: Greeting
        content: '${{ steps.greet.output.greeting }}'
`

// TestExternalPluginInApp runs the example plugin out of process inside
// Atrium: its entities reach the catalog, its card shows on their pages,
// its action runs in a template, its webhook answers 401/400/200, and
// after kill -9 Atrium keeps serving and says the plugin is not running.
func TestExternalPluginInApp(t *testing.T) {
	for _, db := range apptest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) { testExternalPluginInApp(t, db.YAML) })
	}
}

func testExternalPluginInApp(t *testing.T, dbYAML string) {
	hello := helloPlugin(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "greet.yaml"), []byte(helloFiles), 0o600); err != nil {
		t.Fatal(err)
	}
	a, base := startWithPlugins(t, dbYAML+fmt.Sprintf(`catalog:
  rules: [{ allow: [Component, Group, User, Location, Template, System, API, Resource, Domain] }]
  locations: [{ type: file, target: %q }]
atrium:
  allowedLocationTypes: [file, url]
plugins:
  hello:
    config: { greeting: Howdy, refresh: 100ms, owner: group:default/team-a, webhookToken: s3cret-token }
`, filepath.Join(dir, "greet.yaml")), hello)
	c := sclient{t: t, base: base}

	var found bool
	for _, p := range a.Plugins() {
		if p.ID == "hello" && p.Kind == app.PluginExternal && p.State == app.PluginRunning {
			found = true
		}
	}
	if !found {
		t.Fatalf("Plugins() = %+v, want hello external running", a.Plugins())
	}

	// Entities from the provider reach the catalog.
	deadline := time.Now().Add(15 * time.Second)
	for {
		status, _ := c.do("GET", "/api/catalog/entities/by-name/component/default/hello-greeter-fr", nil)
		if status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("hello-greeter-fr did not reach the catalog (last status %d)", status)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The card is on the entity page.
	doc := getPage(t, base+"/catalog/default/component/hello-greeter-fr")
	card := doc.Find(`section.plugin-card[data-plugin="hello"]`)
	if card.Length() != 1 {
		t.Fatalf("entity page: %d hello cards, want 1", card.Length())
	}
	text := strings.Join(strings.Fields(card.Text()), " ")
	for _, want := range []string{"Greeting", "Howdy, hello-greeter-fr!", "group:default/team-a", "lifecycle: experimental"} {
		if !strings.Contains(text, want) {
			t.Errorf("card %q lacks %q", text, want)
		}
	}
	if card.Find(".badge.warn").Length() != 1 || card.Find("svg polyline").Length() != 1 || card.Find("svg circle").Length() != 7 {
		t.Errorf("card: want a warn badge and a 7-point chart; html: %s", outerHTML(card))
	}

	// The action runs in a template: output and file.
	var created struct{ ID string }
	c.json("POST", "/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/greet", "values": map[string]any{"name": "Ada"}}, 201, &created)
	evs := c.waitDone(created.ID)
	var task taskJSON
	c.json("GET", "/api/scaffolder/v2/tasks/"+created.ID, nil, 200, &task)
	if task.Status != "completed" {
		t.Fatalf("task: %s (%s)", task.Status, task.State.Error)
	}
	var log strings.Builder
	for _, e := range evs {
		log.WriteString(e.Body.Message + "\n")
	}
	for _, want := range []string{"wrote out/greeting.txt", "progress 50%: greeting", "out/greeting.txt"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("task log lacks %q:\n%s", want, log.String())
		}
	}
	if out := fmt.Sprint(task.State.Output); !strings.Contains(out, "Howdy, Ada!") {
		t.Errorf("task output = %s, want the greeting", out)
	}

	// The webhook: 401 without the token, 400 on a bad body, 200.
	for i, tc := range []struct {
		token, body string
		want        int
	}{
		{"", `{"name":"Ada"}`, 401},
		{"wrong-token", `{"name":"Ada"}`, 401},
		{"s3cret-token", `{}`, 400},
		{"s3cret-token", `{"name":"Ada"}`, 200},
	} {
		req, _ := http.NewRequest("POST", base+"/api/events/hello/push", strings.NewReader(tc.body))
		req.Header.Set("X-Hello-Token", tc.token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tc.want {
			t.Errorf("%d: webhook: %d %s, want %d", i, res.StatusCode, b, tc.want)
		}
	}
	status, body := c.do("POST", "/api/events/nobody/x", map[string]any{})
	if status != 404 || !strings.Contains(string(body), "hello") {
		t.Errorf("webhook to an unknown plugin: %d %s, want 404 naming hello", status, body)
	}
	var audit struct {
		Items []struct {
			Action, Resource, Outcome string
		}
	}
	c.json("GET", "/api/audit/events?action=plugin.event", nil, 200, &audit)
	outcomes := map[string]int{}
	for _, it := range audit.Items {
		if it.Action == "plugin.event" && it.Resource == "plugin:hello/greetings" {
			outcomes[it.Outcome]++
		}
	}
	if outcomes["denied"] != 2 || outcomes["failed"] != 1 || outcomes["succeeded"] != 1 {
		t.Errorf("audited plugin events by outcome = %v, want denied 2, failed 1, succeeded 1", outcomes)
	}

	// kill -9: Atrium keeps serving; the card says the plugin is down.
	if err := syscall.Kill(hello.Pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for d := time.Now().Add(5 * time.Second); !hello.Exited() && time.Now().Before(d); {
		time.Sleep(20 * time.Millisecond)
	}
	start := time.Now()
	doc = getPage(t, base+"/catalog/default/component/hello-greeter-fr")
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("entity page took %s with the plugin dead", d)
	}
	if got := strings.Join(strings.Fields(doc.Find(`section.plugin-card[data-plugin="hello"] .notice`).Text()), " "); !strings.Contains(got, "not running") {
		t.Errorf("card notice after the kill = %q, want it to say the plugin is not running", got)
	}
	if status, _ := c.do("GET", "/healthz", nil); status != 200 {
		t.Errorf("healthz after the kill: %d", status)
	}
	req, _ := http.NewRequest("POST", base+"/api/events/hello/push", strings.NewReader(`{"name":"Ada"}`))
	req.Header.Set("X-Hello-Token", "s3cret-token")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 503 {
		t.Errorf("webhook after the kill: %d, want 503", res.StatusCode)
	}
}

func getPage(t *testing.T, url string) *goquery.Document {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Accept", "text/html")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("GET %s: %d %s", url, res.StatusCode, b)
	}
	doc, err := goquery.NewDocumentFromReader(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func outerHTML(s *goquery.Selection) string {
	h, _ := goquery.OuterHtml(s)
	return h
}

// fakePlugin is an in-process plugin for the app's plugin wiring.
type fakePlugin struct {
	info        plugin.Info
	validateErr error
	host        plugin.Host
}

func (f *fakePlugin) Info() plugin.Info { return f.info }
func (f *fakePlugin) Provision(_ context.Context, host plugin.Host, _ json.RawMessage) error {
	f.host = host
	return nil
}
func (f *fakePlugin) Validate(context.Context) error { return f.validateErr }
func (f *fakePlugin) Components() plugin.Components  { return plugin.Components{} }
func (f *fakePlugin) Cleanup(context.Context) error  { return nil }

// TestFailingPluginsLeftOut: an external plugin for another plugin API or
// one whose Validate fails is marked failed with the reason, and Atrium
// starts without it.
func TestFailingPluginsLeftOut(t *testing.T) {
	future := &fakePlugin{info: plugin.Info{ID: "future", Version: "3.0.0", APIVersions: ">=2.0.0"}}
	broken := &fakePlugin{info: plugin.Info{ID: "broken", Version: "1.0.0", APIVersions: "^1.0"}, validateErr: plugin.Errorf(plugin.ErrInvalid, "no token configured")}
	a, base := startWithPlugins(t, "", future, broken)
	got := map[string]app.PluginStatus{}
	for _, p := range a.Plugins() {
		got[p.ID] = p
	}
	for id, want := range map[string]string{
		"future": "supports plugin API >=2.0.0, not this Atrium's " + plugin.APIVersion,
		"broken": "validate: plugin broken: no token configured",
	} {
		if p := got[id]; p.State != app.PluginFailed || !strings.Contains(p.Error, want) {
			t.Errorf("%s: %+v, want failed with %q", id, p, want)
		}
	}
	if fi, err := os.Stat(broken.host.DataDir); err != nil || !fi.IsDir() || filepath.Base(broken.host.DataDir) != "broken" {
		t.Errorf("data directory %q: %v", broken.host.DataDir, err)
	}
	if future.host.DataDir != "" {
		t.Errorf("the incompatible plugin was provisioned")
	}
	if status, _ := (sclient{t: t, base: base}).do("GET", "/healthz", nil); status != 200 {
		t.Errorf("healthz: %d", status)
	}
}

// flakyService returns at once on its first run, then works until stopped.
type flakyService struct{ runs atomic.Int32 }

func (s *flakyService) Name() string { return "flaky" }
func (s *flakyService) Run(ctx context.Context) error {
	if s.runs.Add(1) == 1 {
		return errors.New("first run fails")
	}
	<-ctx.Done()
	return nil
}

type servicePlugin struct {
	fakePlugin
	svc *flakyService
}

func (p *servicePlugin) Components() plugin.Components {
	return plugin.Components{Services: []plugin.Service{p.svc}}
}

// TestPluginServiceRestarted: a plugin's service runs in the background
// and is run again after it returns early.
func TestPluginServiceRestarted(t *testing.T) {
	p := &servicePlugin{fakePlugin: fakePlugin{info: plugin.Info{ID: "svc", Version: "1.0.0", APIVersions: "^1.0"}}, svc: &flakyService{}}
	startWithPlugins(t, "", p)
	deadline := time.Now().Add(time.Minute)
	for p.svc.runs.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("service runs = %d after a minute, want it run again after failing", p.svc.runs.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type dupAction struct{}

func (dupAction) ID() string                                 { return "debug:log" }
func (dupAction) Description() string                        { return "Not the built-in one." }
func (dupAction) Schema() (json.RawMessage, json.RawMessage) { return nil, nil }
func (dupAction) Run(context.Context, plugin.ActionRequest, plugin.ActionReporter) error {
	return nil
}

type dupPlugin struct{ fakePlugin }

func (p *dupPlugin) Components() plugin.Components {
	return plugin.Components{Actions: []plugin.Action{dupAction{}}}
}

// TestDuplicateActionLeftOut: an external plugin offering an action id a
// built-in already has does not stop Atrium; its action is left out and
// its status says why.
func TestDuplicateActionLeftOut(t *testing.T) {
	p := &dupPlugin{fakePlugin{info: plugin.Info{ID: "dup", Version: "1.0.0", APIVersions: "^1.0"}}}
	a, base := startWithPlugins(t, "", p)
	var st app.PluginStatus
	for _, s := range a.Plugins() {
		if s.ID == "dup" {
			st = s
		}
	}
	if st.State != app.PluginRunning || !strings.Contains(st.Error, "action debug:log is already offered by plugin scaffolder-builtin") {
		t.Errorf("dup: %+v", st)
	}
	var acts []struct{ ID, Description string }
	(sclient{t: t, base: base}).json("GET", "/api/scaffolder/v2/actions", nil, 200, &acts)
	for _, act := range acts {
		if act.ID == "debug:log" && act.Description == "Not the built-in one." {
			t.Errorf("the duplicate replaced the built-in debug:log")
		}
	}
}
