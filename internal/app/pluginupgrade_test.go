package app_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/app"
	"github.com/atrium-portal/atrium/internal/app/apptest"
	"github.com/atrium-portal/atrium/internal/pluginhost"
	"github.com/atrium-portal/atrium/internal/pluginhost/pluginhosttest"
)

const shoutTemplate = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: { name: shout }
spec:
  type: service
  steps:
    - id: shout
      action: test:shout
      input: { text: hello }
  output:
    text:
      - title: Shout
        content: '${{ steps.shout.output.text }} from ${{ steps.shout.output.version }}'
`

const legacyTemplate = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: { name: legacy }
spec:
  type: service
  steps:
    - id: legacy
      action: test:legacy
`

// TestPluginUpgradeRewires upgrades an external plugin whose new version
// offers other components while Atrium runs: the new action is listed
// and runs, the removed one is gone, and the new entity card shows on
// entity pages, without a restart.
func TestPluginUpgradeRewires(t *testing.T) {
	reg := pluginhosttest.NewRegistry(t)
	reg.Publish("echo",
		pluginhosttest.Release{Version: "3.0.0", APIVersions: "^1.0.0", ReleasedAt: "2024-01-01", Binary: pluginhosttest.BuildPlugin(t, "3.0.0", "^1.0.0")},
		pluginhosttest.Release{Version: "4.0.0", APIVersions: "^1.0.0", ReleasedAt: "2024-02-01", Binary: pluginhosttest.BuildPlugin(t, "4.0.0", "^1.0.0")},
	)
	dir := t.TempDir()
	pluginDir := filepath.Join(dir, "plugins")
	installEcho(t, reg, pluginDir, "3.0.0")
	for name, body := range map[string]string{"echo.yaml": echoTemplate, "shout.yaml": shoutTemplate, "legacy.yaml": legacyTemplate} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	srv := apptest.StartServer(t, fmt.Sprintf(`catalog:
  rules: [{ allow: [Template, Location] }]
  locations: [{ type: file, target: %q }]
atrium:
  rateLimit: { enabled: false }
  pluginHost:
    directory: %q
    registry: %q
    allowedHosts: [%q]
    caFile: %q
    watchInterval: 100ms
    healthInterval: 200ms
`, filepath.Join(dir, "*.yaml"), pluginDir, reg.URL(), reg.Host(), reg.CAFile))
	c := sclient{t: t, base: srv.BaseURL}
	actions := func() []string {
		var list []struct{ ID string }
		c.json("GET", "/api/scaffolder/v2/actions", nil, 200, &list)
		var ids []string
		for _, a := range list {
			if strings.HasPrefix(a.ID, "test:") {
				ids = append(ids, a.ID)
			}
		}
		slices.Sort(ids)
		return ids
	}
	run := func(template string) string {
		var created struct{ ID string }
		c.json("POST", "/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/" + template, "values": map[string]any{"text": "x"}}, 201, &created)
		c.waitDone(created.ID)
		var task taskJSON
		c.json("GET", "/api/scaffolder/v2/tasks/"+created.ID, nil, 200, &task)
		if task.Status != "completed" {
			return fmt.Sprintf("%s (%s)", task.Status, task.State.Error)
		}
		return fmt.Sprint(task.State.Output)
	}
	cards := func() int {
		return getPage(t, srv.BaseURL+"/catalog/default/template/echo").Find(`section.plugin-card[data-plugin="echo"]`).Length()
	}

	if got, want := actions(), []string{"test:echo", "test:legacy"}; !slices.Equal(got, want) {
		t.Fatalf("3.0.0: actions %v, want %v", got, want)
	}
	if out := run("shout"); !strings.Contains(out, `unknown action "test:shout"`) {
		t.Errorf("3.0.0: shout task: %s, want test:shout unknown", out)
	}
	if n := cards(); n != 0 {
		t.Errorf("3.0.0: %d echo cards on the entity page, want none", n)
	}

	installEcho(t, reg, pluginDir, "4.0.0")
	deadline := time.Now().Add(30 * time.Second)
	for {
		var o pluginhost.Overview
		c.json("GET", "/api/plugins", nil, 200, &o)
		e := findStats(o.Plugins, "echo")
		got := actions()
		if e != nil && e.Version == "4.0.0" && e.State == pluginhost.StateRunning && slices.Equal(got, []string{"test:echo", "test:shout"}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the upgrade: echo %+v, actions %v; want 4.0.0 running with test:echo and test:shout", e, got)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if out := run("shout"); !strings.Contains(out, "HELLO from 4.0.0") {
		t.Errorf("4.0.0: shout task: %s, want HELLO from 4.0.0", out)
	}
	if out := run("legacy"); !strings.Contains(out, `unknown action "test:legacy"`) {
		t.Errorf("4.0.0: legacy task: %s, want test:legacy unknown", out)
	}
	if out := run("echo"); !strings.Contains(out, "x from 4.0.0") {
		t.Errorf("4.0.0: echo task: %s, want x from 4.0.0", out)
	}
	if n := cards(); n != 1 {
		t.Errorf("4.0.0: %d echo cards on the entity page, want the new shout card", n)
	}
	for _, p := range srv.App.Plugins() {
		if p.ID == "echo" && p.Version != "4.0.0" {
			t.Errorf("Plugins(): echo %s, want 4.0.0", p.Version)
		}
	}
}

// TestCatalogLocationsPlugin: the catalog's location providers are a
// built-in plugin, listed with the others, that cannot be disabled.
func TestCatalogLocationsPlugin(t *testing.T) {
	srv := apptest.StartServer(t, "")
	var found bool
	for _, p := range srv.App.Plugins() {
		if p.ID == "catalog-locations" {
			found = true
			if p.Kind != app.PluginBuiltin || p.State != app.PluginRunning {
				t.Errorf("catalog-locations: %s/%s (%s), want builtin/running", p.Kind, p.State, p.Error)
			}
		}
	}
	if !found {
		t.Errorf("Plugins() lacks catalog-locations: %+v", srv.App.Plugins())
	}
	_, err := newApp(t, "plugins:\n  catalog-locations: { enabled: false }\n")
	if err == nil || !strings.Contains(err.Error(), "plugins.catalog-locations.enabled: plugin catalog-locations is part of Atrium's core and cannot be disabled") {
		t.Errorf("disabling catalog-locations: err = %v, want it refused", err)
	}
}
