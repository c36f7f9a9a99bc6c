package main

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/app/apptest"
	"github.com/atrium-portal/atrium/internal/pluginhost"
	"github.com/atrium-portal/atrium/internal/pluginhost/pluginhosttest"
)

// TestPluginCLI drives `atrium plugin` against an HTTPS registry serving a
// real plugin, with a server running on the same plugin directory and
// database: install, upgrade and remove take effect there without a
// restart, and each is audited.
func TestPluginCLI(t *testing.T) {
	reg := pluginhosttest.NewRegistry(t)
	reg.Publish("echo",
		pluginhosttest.Release{Version: "1.0.0", APIVersions: "^1.0.0", ReleasedAt: "2024-01-01", Binary: pluginhosttest.BuildPlugin(t, "1.0.0", "^1.0.0")},
		pluginhosttest.Release{Version: "1.1.0", APIVersions: "^1.0.0", ReleasedAt: "2024-02-01", Binary: pluginhosttest.BuildPlugin(t, "1.1.0", "^1.0.0")},
		pluginhosttest.Release{Version: "2.0.0", APIVersions: ">=2.0.0", ReleasedAt: "2024-03-01", Binary: []byte("future")},
	)
	// A second plugin whose index entry has the wrong checksum.
	index := httpsGet(t, reg, reg.URL())
	reg.Serve("evil-1.0.0", []byte("not what the index says"))
	reg.Serve("index.yaml", []byte(index+`  - id: evil
    description: Tampered with.
    versions:
      - version: 1.0.0
        apiVersions: "^1.0.0"
        releasedAt: 2026-11-01
        platforms:
          `+pluginhost.Platform+`: { url: evil-1.0.0, sha256: "0000000000000000000000000000000000000000000000000000000000000000" }
`))
	pluginDir := filepath.Join(t.TempDir(), "plugins")
	hostYAML := fmt.Sprintf(`  pluginHost:
    directory: %q
    registry: %q
    allowedHosts: [%q]
    caFile: %q
    watchInterval: 100ms
    healthInterval: 200ms
`, pluginDir, reg.URL(), reg.Host(), reg.CAFile)
	srv := apptest.StartServer(t, "atrium:\n"+hostYAML)
	cfgFile := filepath.Join(t.TempDir(), "cli.yaml")
	cli := fmt.Sprintf(`backend:
  database: { client: sqlite, connection: %q }
atrium:
  dataDir: %q
  demo: false
%s`, filepath.Join(srv.Dir, "atrium.db"), filepath.Join(srv.Dir, "data"), hostYAML)
	if err := os.WriteFile(cfgFile, []byte(cli), 0o600); err != nil {
		t.Fatal(err)
	}
	plugin := func(args ...string) (int, string, string) {
		return runCLI(t, append(append([]string{"plugin"}, args...), "--config", cfgFile)...)
	}

	code, out, errOut := plugin("search", "ECHO")
	if code != 0 || !strings.Contains(out, "echo") || strings.Contains(out, "evil") {
		t.Fatalf("search: %d\n%s%s", code, out, errOut)
	}
	if fields := strings.Fields(lineWith(out, "echo")); len(fields) < 4 || fields[1] != "2.0.0" || fields[2] != "1.1.0" || fields[3] != "2024-03-01" {
		t.Errorf("search row: %q", lineWith(out, "echo"))
	}

	code, out, errOut = plugin("info", "echo")
	if code != 0 {
		t.Fatalf("info: %d %s", code, errOut)
	}
	t.Logf("atrium plugin info echo:\n%s", out)
	for _, want := range []string{"WARNING: possibly unmaintained", "API 1.0.0*", "API 2.0.0"} {
		if !strings.Contains(out, want) {
			t.Errorf("info lacks %q:\n%s", want, out)
		}
	}
	if got := strings.Fields(lineWith(out, "2.0.0  ")); len(got) < 6 || got[3] != "no" || got[4] != "yes" {
		t.Errorf("matrix row 2.0.0: %q", lineWith(out, "2.0.0  "))
	}
	if got := strings.Fields(lineWith(out, "1.0.0  ")); len(got) < 6 || got[3] != "yes" || got[4] != "no" {
		t.Errorf("matrix row 1.0.0: %q", lineWith(out, "1.0.0  "))
	}

	code, _, errOut = plugin("install", "echo@2.0.0")
	if code != 1 || !strings.Contains(errOut, "echo 2.0.0 supports plugin API >=2.0.0, but this Atrium speaks plugin API 1.0.0; versions that would work: 1.1.0, 1.0.0") {
		t.Errorf("incompatible install: %d %s", code, errOut)
	}
	code, _, errOut = plugin("install", "evil")
	if code != 1 || !strings.Contains(errOut, "checksum mismatch for evil 1.0.0") || !strings.Contains(errOut, "expected sha256 0000000000") {
		t.Errorf("tampered install: %d %s", code, errOut)
	}

	// Without a server on the directory (the status file is stale).
	if code, out, _ := runCLI(t, "plugin", "list", "--config", writeConfig(t, "atrium:\n  demo: false\n  dataDir: "+t.TempDir()+"\n")); code != 0 ||
		!strings.Contains(out, "scaffolder-builtin") || !strings.Contains(out, "enabled (server not running)") || !strings.Contains(out, "no external plugins installed") {
		t.Errorf("list without a server: %d\n%s", code, out)
	}

	code, out, errOut = plugin("install", "echo@1.0.0")
	if code != 0 || !strings.Contains(out, "installed echo 1.0.0 (sha256 ") || !strings.Contains(errOut, "100%") {
		t.Fatalf("install: %d\n%s\n%s", code, out, errOut)
	}
	waitPlugin(t, srv.BaseURL, "echo", "1.0.0")
	// Installed while Atrium runs, its components are wired without a restart.
	waitFor(t, "echo wired on the server", func() bool {
		st := serverPlugin(t, srv.BaseURL, "echo")
		return st != nil && st.Wired && st.WireError == ""
	})
	waitFor(t, "list shows echo running", func() bool {
		_, out, _ = plugin("list")
		f := strings.Fields(lineWith(out, "echo"))
		return len(f) > 3 && f[1] == "1.0.0" && f[2] == "external" && f[3] == "running"
	})
	t.Logf("atrium plugin list:\n%s", out)
	if f := strings.Fields(lineWith(out, "scaffolder-builtin")); len(f) < 4 || f[2] != "built-in" || f[3] != "running" {
		t.Errorf("list: built-in row %q\n%s", lineWith(out, "scaffolder-builtin"), out)
	}

	code, out, errOut = plugin("upgrade", "echo")
	if code != 0 || !strings.Contains(out, "upgraded from 1.0.0 to echo 1.1.0") {
		t.Fatalf("upgrade: %d\n%s\n%s", code, out, errOut)
	}
	waitPlugin(t, srv.BaseURL, "echo", "1.1.0")
	if code, out, _ = plugin("upgrade", "echo"); code != 0 || !strings.Contains(out, "echo 1.1.0 is the newest version that works with this Atrium (2.0.0 needs plugin API >=2.0.0") {
		t.Errorf("second upgrade: %d %s", code, out)
	}

	code, out, errOut = plugin("remove", "echo")
	if code != 0 || !strings.Contains(out, "removed echo 1.1.0") {
		t.Fatalf("remove: %d\n%s\n%s", code, out, errOut)
	}
	waitFor(t, "the server to stop echo", func() bool { return serverPlugin(t, srv.BaseURL, "echo") == nil })
	if code, _, errOut = plugin("remove", "echo"); code != 1 || !strings.Contains(errOut, "plugin echo: not installed") {
		t.Errorf("second remove: %d %s", code, errOut)
	}

	// Each change is in the audit log, as the CLI did it.
	var page struct {
		Items []struct {
			Action, Resource, Outcome string
			Details                   map[string]any
		}
	}
	getJSON(t, srv.BaseURL+"/api/audit/events?actor=service:atrium-cli&limit=50", &page)
	var got []string
	for _, it := range page.Items {
		got = append(got, fmt.Sprintf("%s %s %v %s", it.Action, it.Resource, it.Details["version"], it.Outcome))
	}
	for _, want := range []string{
		"plugin.install plugin:echo 2.0.0 failed", "plugin.install plugin:evil 1.0.0 failed", "plugin.install plugin:echo 1.0.0 succeeded",
		"plugin.upgrade plugin:echo 1.1.0 succeeded", "plugin.remove plugin:echo 1.1.0 succeeded",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("audit log lacks %q; has %q", want, got)
		}
	}

	// Usage errors.
	if code, _, errOut := runCLI(t, "plugin"); code != 2 || !strings.Contains(errOut, "plugin needs a subcommand") {
		t.Errorf("no subcommand: %d %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, "plugin", "install"); code != 2 || !strings.Contains(errOut, "needs one plugin id") {
		t.Errorf("install without id: %d %s", code, errOut)
	}
}

func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "app-config.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func lineWith(out, prefix string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

func httpsGet(t *testing.T, reg *pluginhosttest.Registry, url string) string {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: reg.CertPool()}
	resp, err := (&http.Client{Transport: tr}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func serverPlugin(t *testing.T, base, id string) *pluginhost.Stats {
	var o pluginhost.Overview
	getJSON(t, base+"/api/plugins", &o)
	for i := range o.Plugins {
		if o.Plugins[i].ID == id {
			return &o.Plugins[i]
		}
	}
	return nil
}

func waitPlugin(t *testing.T, base, id, version string) {
	t.Helper()
	waitFor(t, id+" "+version+" running on the server", func() bool {
		st := serverPlugin(t, base, id)
		return st != nil && st.Version == version && st.State == pluginhost.StateRunning
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
