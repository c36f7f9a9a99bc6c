package app_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/atrium-portal/atrium/internal/app/apptest"
	"github.com/atrium-portal/atrium/internal/pluginhost"
	"github.com/atrium-portal/atrium/internal/pluginhost/pluginhosttest"
)

const echoTemplate = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: { name: echo }
spec:
  type: service
  parameters: { properties: { text: { type: string } } }
  steps:
    - id: echo
      action: test:echo
      input: { text: '${{ parameters.text }}', sleepMs: 50 }
  output:
    text:
      - title: Echo
        content: '${{ steps.echo.output.text }} from ${{ steps.echo.output.version }}'
`

// installEcho installs echo@version from reg into dir, as `atrium plugin
// install` does.
func installEcho(t *testing.T, reg *pluginhosttest.Registry, dir, version string) {
	t.Helper()
	f := &pluginhost.Fetcher{AllowedHosts: []string{reg.Host()}, RootCAs: reg.CertPool()}
	idx, err := f.LoadIndex(context.Background(), reg.URL())
	if err != nil {
		t.Fatal(err)
	}
	e, _ := idx.Plugin("echo")
	r, _ := e.Release(version)
	if _, err := (&pluginhost.Store{Dir: dir}).Install(context.Background(), pluginhost.InstallParams{
		Index: idx, Entry: e, Release: r, API: semver.MustParse("1.0.0"), Platform: pluginhost.Platform, Fetcher: f,
	}); err != nil {
		t.Fatal(err)
	}
}

// TestPluginHostInApp runs an installed external plugin inside Atrium:
// its action serves templates, GET /api/plugins and /settings/plugins
// show its health and the registry's matrix, an upgrade while tasks run
// fails none of them, and a removal takes effect without a restart.
func TestPluginHostInApp(t *testing.T) {
	for _, db := range apptest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) { testPluginHostInApp(t, db.YAML) })
	}
}

func testPluginHostInApp(t *testing.T, dbYAML string) {
	reg := pluginhosttest.NewRegistry(t)
	reg.Publish("echo",
		pluginhosttest.Release{Version: "1.0.0", APIVersions: "^1.0.0", ReleasedAt: "2024-01-01", Binary: pluginhosttest.BuildPlugin(t, "1.0.0", "^1.0.0")},
		pluginhosttest.Release{Version: "1.1.0", APIVersions: "^1.0.0", ReleasedAt: "2024-02-01", Binary: pluginhosttest.BuildPlugin(t, "1.1.0", "^1.0.0")},
		pluginhosttest.Release{Version: "2.0.0", APIVersions: ">=2.0.0", ReleasedAt: "2024-03-01", Binary: []byte("future")},
	)
	dir := t.TempDir()
	pluginDir := filepath.Join(dir, "plugins")
	installEcho(t, reg, pluginDir, "1.0.0")
	if err := os.WriteFile(filepath.Join(dir, "echo.yaml"), []byte(echoTemplate), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := apptest.StartServer(t, fmt.Sprintf(`catalog:
  rules: [{ allow: [Template, Location] }]
  locations: [{ type: file, target: %q }]
atrium:
  allowedLocationTypes: [file, url]
  rateLimit: { enabled: false }
  pluginHost:
    directory: %q
    registry: %q
    allowedHosts: [%q]
    caFile: %q
    watchInterval: 100ms
    healthInterval: 200ms
    memoryLimit: 512MiB
    unmaintainedAfter: { days: 365 }
`, filepath.Join(dir, "echo.yaml"), pluginDir, reg.URL(), reg.Host(), reg.CAFile)+dbYAML)
	c := sclient{t: t, base: srv.BaseURL}

	var o pluginhost.Overview
	c.json("GET", "/api/plugins", nil, 200, &o)
	echo := findStats(o.Plugins, "echo")
	if echo == nil || echo.State != pluginhost.StateRunning || echo.Version != "1.0.0" || echo.Kind != "external" || echo.Pid == 0 || !echo.Wired {
		t.Fatalf("GET /api/plugins: echo = %+v", echo)
	}
	if b := findStats(o.Plugins, "scaffolder-builtin"); b == nil || b.Kind != "builtin" {
		t.Errorf("the built-in is not listed: %+v", o.Plugins)
	}
	if len(o.Registry.Plugins) != 1 {
		t.Fatalf("registry: %+v", o.Registry)
	}
	rp := o.Registry.Plugins[0]
	if rp.Installed != "1.0.0" || rp.Compatible != "1.1.0" || !rp.Unmaintained || len(rp.Matrix.Rows) != 3 {
		t.Errorf("registry view: %+v", rp)
	}

	// Tasks run the plugin's action; an upgrade while they run fails none.
	run := func(text string) string {
		var created struct{ ID string }
		c.json("POST", "/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/echo", "values": map[string]any{"text": text}}, 201, &created)
		c.waitDone(created.ID)
		var task taskJSON
		c.json("GET", "/api/scaffolder/v2/tasks/"+created.ID, nil, 200, &task)
		if task.Status != "completed" {
			return fmt.Sprintf("task %s: %s (%s)", text, task.Status, task.State.Error)
		}
		return fmt.Sprint(task.State.Output)
	}
	if out := run("first"); !strings.Contains(out, "first from 1.0.0") {
		t.Fatalf("task output: %s", out)
	}
	var wg sync.WaitGroup
	results := make([]string, 12)
	for i := range results {
		wg.Go(func() {
			time.Sleep(time.Duration(i) * 40 * time.Millisecond)
			results[i] = run(fmt.Sprint("t", i))
		})
	}
	time.Sleep(100 * time.Millisecond)
	installEcho(t, reg, pluginDir, "1.1.0")
	wg.Wait()
	for i, r := range results {
		if !strings.Contains(r, fmt.Sprintf("t%d from 1.", i)) {
			t.Errorf("task %d during the upgrade: %s", i, r)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		c.json("GET", "/api/plugins", nil, 200, &o)
		if e := findStats(o.Plugins, "echo"); e != nil && e.Version == "1.1.0" && e.State == pluginhost.StateRunning {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not upgraded: %+v", findStats(o.Plugins, "echo"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if out := run("after"); !strings.Contains(out, "after from 1.1.0") {
		t.Errorf("task after the upgrade: %s", out)
	}

	// The series at /metrics.
	status, body := c.do("GET", "/metrics", nil)
	for _, want := range []string{`atrium_plugin_up{kind="external",plugin="echo"} 1`, `atrium_plugin_state{plugin="echo",state="running"} 1`,
		`atrium_plugin_memory_limit_bytes{plugin="echo"} 5.36870912e+08`, `atrium_plugin_calls_total{plugin="echo"}`} {
		if status != 200 || !strings.Contains(string(body), want) {
			t.Errorf("/metrics (%d) lacks %s", status, want)
		}
	}

	// The page.
	doc := getPage(t, srv.BaseURL+"/settings/plugins")
	if got := doc.Find("#plugin-echo").AttrOr("data-state", ""); got != "running" {
		t.Errorf("page: echo state %q", got)
	}
	if doc.Find("#registry-echo .unmaintained").Length() != 1 || doc.Find(`#registry-echo tr[data-version="2.0.0"]`).Length() != 1 {
		t.Errorf("page: registry card: %s", outerHTML(doc.Find("#registry-echo")))
	}

	// Removal: the plugin stops without a restart; its action is gone.
	if err := (&pluginhost.Store{Dir: pluginDir}).Remove("echo"); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(20 * time.Second)
	for {
		c.json("GET", "/api/plugins", nil, 200, &o)
		if findStats(o.Plugins, "echo") == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not removed: %+v", findStats(o.Plugins, "echo"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if out := run("gone"); !strings.Contains(out, `unknown action "test:echo"`) {
		t.Errorf("task after removal: %s", out)
	}
}

func findStats(list []pluginhost.Stats, id string) *pluginhost.Stats {
	for i := range list {
		if list[i].ID == id {
			return &list[i]
		}
	}
	return nil
}

// TestPluginHostBrokenPluginAtStart: an installed plugin that cannot start
// does not stop Atrium, even with a configuration; it is shown crashed
// with its error and retried.
func TestPluginHostBrokenPluginAtStart(t *testing.T) {
	reg := pluginhosttest.NewRegistry(t)
	reg.Publish("echo", pluginhosttest.Release{Version: "1.0.0", APIVersions: "^1.0.0", Binary: []byte("#!/bin/sh\nexit 3\n")})
	pluginDir := filepath.Join(t.TempDir(), "plugins")
	installEcho(t, reg, pluginDir, "1.0.0")
	srv := apptest.StartServer(t, fmt.Sprintf(`atrium:
  pluginHost:
    directory: %q
    startTimeout: 2s
    restart: { initialBackoff: 100ms, maxBackoff: 200ms }
plugins:
  echo:
    config: { leak: false }
`, pluginDir))
	c := sclient{t: t, base: srv.BaseURL}
	var o pluginhost.Overview
	deadline := time.Now().Add(time.Minute)
	for {
		c.json("GET", "/api/plugins", nil, 200, &o)
		if e := findStats(o.Plugins, "echo"); e != nil && e.Restarts == 0 && e.Failures >= 2 {
			if e.State != pluginhost.StateCrashed && e.State != pluginhost.StateStarting || e.Wired || e.LastError == "" {
				t.Errorf("echo: %+v", e)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no retries seen: %+v", findStats(o.Plugins, "echo"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if o.Registry.Error == "" {
		t.Error("no registry configured, and the overview does not say so")
	}
}
