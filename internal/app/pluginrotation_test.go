package app_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/atrium-portal/atrium/internal/app"
	"github.com/atrium-portal/atrium/internal/app/apptest"
	"github.com/atrium-portal/atrium/internal/integrations/gitlab/gitlabsim"
	"github.com/atrium-portal/atrium/internal/pluginhost/pluginhosttest"
)

// runTemplate runs template:default/<name> with values and returns the
// task's status and, when it completed, its output (else its error).
func runTemplate(c sclient, name string, values map[string]any) (string, string) {
	c.t.Helper()
	var created struct{ ID string }
	c.json("POST", "/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/" + name, "values": values}, 201, &created)
	c.waitDone(created.ID)
	var task taskJSON
	c.json("GET", "/api/scaffolder/v2/tasks/"+created.ID, nil, 200, &task)
	if task.Status != "completed" {
		return task.Status, task.State.Error
	}
	return task.Status, fmt.Sprint(task.State.Output)
}

// TestPluginSecretRotation: the GitLab plugin's token comes from a
// ${file:…} reference. After the file and the GitLab token change and
// Atrium re-resolves its secrets, the plugin is provisioned again with
// the new token, without a restart; the re-provisioning is audited
// without the token.
func TestPluginSecretRotation(t *testing.T) {
	oldToken, newToken := "glpat-before-"+randomHex(t, 8), "glpat-after-"+randomHex(t, 8)
	// The simulator accepts one token, which the test changes.
	var mu sync.Mutex
	accepted := oldToken
	sim := gitlabsim.New("", "")
	gl := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ok := r.Header.Get("PRIVATE-TOKEN") == accepted || r.Header.Get("Authorization") == "Bearer "+accepted
		mu.Unlock()
		if !ok {
			http.Error(w, `{"message":"401 Unauthorized"}`, http.StatusUnauthorized)
			return
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(gl.Close)
	host := strings.TrimPrefix(gl.URL, "http://")

	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "gitlab-token")
	if err := os.WriteFile(tokenFile, []byte(oldToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tmpl := `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: { name: group }
spec:
  type: service
  parameters: { properties: { path: { type: string } } }
  steps:
    - id: group
      action: gitlab:group:ensureExists
      input: { repoUrl: '` + host + `', path: '${{ parameters.path }}' }
`
	if err := os.WriteFile(filepath.Join(dir, "group.yaml"), []byte(tmpl), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := apptest.StartServer(t, fmt.Sprintf(`catalog:
  rules: [{ allow: [Template, Location] }]
  locations: [{ type: file, target: %q }]
atrium:
  rateLimit: { enabled: false }
plugins:
  gitlab:
    config:
      instances:
        - { host: %q, apiBaseUrl: %q, token: '${file:%s}' }
`, filepath.Join(dir, "group.yaml"), host, gl.URL, tokenFile))
	c := sclient{t: t, base: srv.BaseURL}

	if st, out := runTemplate(c, "group", map[string]any{"path": "before/rotation"}); st != "completed" {
		t.Fatalf("before the rotation: %s: %s", st, out)
	}
	// GitLab rotates the token: the plugin's old one is refused.
	mu.Lock()
	accepted = newToken
	mu.Unlock()
	if st, _ := runTemplate(c, "group", map[string]any{"path": "between/rotation"}); st != "failed" {
		t.Fatalf("with the old token: %s, want failed (the test cannot tell the rotation apart)", st)
	}
	if err := os.WriteFile(tokenFile, []byte(newToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := http.Post(srv.BaseURL+"/api/secrets/refresh", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), `"changed":1`) {
		t.Fatalf("refresh: %d %s, want 200 and one change", res.StatusCode, body)
	}
	if st, out := runTemplate(c, "group", map[string]any{"path": "after/rotation"}); st != "completed" {
		t.Errorf("after the rotation: %s: %s, want completed with the new token", st, out)
	}
	for _, p := range srv.App.Plugins() {
		if p.ID == "gitlab" && p.State != app.PluginRunning {
			t.Errorf("gitlab after the rotation: %s (%s), want running", p.State, p.Error)
		}
	}
	audit := getBody(t, srv.BaseURL+"/api/audit/events?action=plugin.reprovisioned")
	if !strings.Contains(audit, `"plugin:gitlab"`) || !strings.Contains(audit, "plugins.gitlab.config") {
		t.Errorf("audit of the re-provisioning: %s, want a record of plugin:gitlab and its key", audit)
	}
	all := getBody(t, srv.BaseURL+"/api/audit/events?limit=500")
	if strings.Contains(all, oldToken) || strings.Contains(all, newToken) {
		t.Errorf("the audit log holds a token value")
	}
	for _, p := range []string{"/api/plugins", "/api/scaffolder/v2/actions"} {
		if b := getBody(t, srv.BaseURL+p); strings.Contains(b, oldToken) || strings.Contains(b, newToken) {
			t.Errorf("%s holds a token value", p)
		}
	}
}

// TestExternalPluginSecretRotation: an external plugin's configuration
// holds a ${file:…} secret; after a rotation its supervisor swaps it for a
// fresh process provisioned with the new value, without a restart of
// Atrium, and the re-provisioning is audited without the value.
func TestExternalPluginSecretRotation(t *testing.T) {
	reg := pluginhosttest.NewRegistry(t)
	reg.Publish("echo", pluginhosttest.Release{Version: "1.0.0", APIVersions: "^1.0.0", ReleasedAt: "2024-01-01", Binary: pluginhosttest.BuildPlugin(t, "1.0.0", "^1.0.0")})
	dir := t.TempDir()
	pluginDir := filepath.Join(dir, "plugins")
	installEcho(t, reg, pluginDir, "1.0.0")
	oldValue, newValue := "greeting-before-"+randomHex(t, 8), "greeting-after-"+randomHex(t, 8)
	secretFile := filepath.Join(dir, "greeting")
	if err := os.WriteFile(secretFile, []byte(oldValue+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tmpl := `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: { name: greet }
spec:
  type: service
  steps:
    - id: echo
      action: test:echo
      input: { text: hi }
  output:
    text:
      - title: Greeting
        content: 'pid ${{ steps.echo.output.pid }} sees ${{ steps.echo.output.greeting | length }} characters, the new value: ${{ steps.echo.output.greeting == "` + newValue + `" }}'
`
	if err := os.WriteFile(filepath.Join(dir, "greet.yaml"), []byte(tmpl), 0o600); err != nil {
		t.Fatal(err)
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
plugins:
  echo:
    config: { greeting: '${file:%s}' }
`, filepath.Join(dir, "greet.yaml"), pluginDir, reg.URL(), reg.Host(), reg.CAFile, secretFile))
	c := sclient{t: t, base: srv.BaseURL}
	st, before := runTemplate(c, "greet", nil)
	if st != "completed" || !strings.Contains(before, "the new value: false") {
		t.Fatalf("before the rotation: %s: %s", st, before)
	}
	if err := os.WriteFile(secretFile, []byte(newValue+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := srv.App.RefreshSecrets(context.Background()); got != 1 {
		t.Fatalf("RefreshSecrets: %d changed, want 1", got)
	}
	st, after := runTemplate(c, "greet", nil)
	if st != "completed" || !strings.Contains(after, "the new value: true") {
		t.Errorf("after the rotation: %s: %s, want the new value", st, after)
	}
	pid := regexp.MustCompile(`pid [0-9]+`)
	if p := pid.FindString(before); p == "" || p == pid.FindString(after) {
		t.Errorf("before the rotation %q, after %q: want answers from two processes", before, after)
	}
	audit := getBody(t, srv.BaseURL+"/api/audit/events?action=plugin.reprovisioned")
	if !strings.Contains(audit, `"plugin:echo"`) || !strings.Contains(audit, `"succeeded"`) {
		t.Errorf("audit of the re-provisioning: %s, want plugin:echo succeeded", audit)
	}
	all := getBody(t, srv.BaseURL+"/api/audit/events?limit=500")
	if strings.Contains(all, oldValue) || strings.Contains(all, newValue) {
		t.Errorf("the audit log holds the secret")
	}
}
