package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/app/apptest"
)

// policyHost serves one policy file over HTTP, like a Git host's raw file
// URL; the test changes what it serves.
type policyHost struct {
	mu     sync.Mutex
	body   string
	status int
}

func (h *policyHost) set(status int, body string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.status, h.body = status, body
}

func (h *policyHost) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	w.WriteHeader(h.status)
	io.WriteString(w, h.body)
}

const (
	policyAllowAll = `rules:
  - name: everyone-reads
    effect: allow
    permissions: ['*']
`
	policyHideComponents = policyAllowAll + `  - name: hide-components
    effect: deny
    permissions: [catalog.entity.read]
    condition: resource.kind == "component"
`
	// policyBroken has a CEL error in its second rule.
	policyBroken = policyAllowAll + `  - name: broken-rule
    effect: deny
    permissions: [catalog.entity.read]
    condition: resource.kind ==
`
)

// TestPolicyFromURL keeps the policy in a file served over HTTP (GitOps):
// it is read at start, again on POST /api/permission/policies/refresh and
// every urlRefreshInterval; a changed policy changes decisions without a
// restart, and a broken or unreachable one never replaces the good one
// (the refresh answers with the error naming the URL and rule, the
// permissions page shows it, the audit log records it).
func TestPolicyFromURL(t *testing.T) {
	host := &policyHost{}
	host.set(200, policyAllowAll)
	gitHost := httptest.NewServer(host)
	defer gitHost.Close()
	policyURL := gitHost.URL + "/platform/policies/raw/main/policy.yaml"
	u, _ := url.Parse(gitHost.URL)

	dir := t.TempDir()
	entities := filepath.Join(dir, "catalog-info.yaml")
	if err := os.WriteFile(entities, []byte("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: { name: svc }\nspec: { type: service, lifecycle: production, owner: team-a }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := apptest.StartServer(t, `backend:
  reading:
    allow: [{ host: "`+u.Host+`" }]
catalog:
  locations: [{ type: file, target: "`+entities+`" }]
permission:
  policies: ["`+policyURL+`"]
atrium:
  authz:
    admins: [user:default/guest]
    urlRefreshInterval: 200ms
`)
	base := srv.BaseURL

	components := func() int {
		t.Helper()
		res, err := http.Get(base + "/api/catalog/entities?filter=kind=component")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var items []json.RawMessage
		if err := json.NewDecoder(res.Body).Decode(&items); err != nil {
			t.Fatal(err)
		}
		return len(items)
	}
	refresh := func() (int, string) {
		t.Helper()
		res, err := http.Post(base+"/api/permission/policies/refresh", "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}

	if got := components(); got != 1 {
		t.Fatalf("components under the first policy: got %d, want 1", got)
	}

	// A new policy in the repository takes effect on refresh.
	host.set(200, policyHideComponents)
	if code, body := refresh(); code != 200 || !strings.Contains(body, `"changed":true`) {
		t.Fatalf("refresh: got %d %s, want 200 and changed", code, body)
	}
	if got := components(); got != 0 {
		t.Fatalf("components after the deny rule arrived: got %d, want 0", got)
	}

	// A broken policy is refused with its URL, rule and position; the
	// previous decisions stay.
	host.set(200, policyBroken)
	code, body := refresh()
	if code != 400 && code != 422 {
		t.Errorf("refresh of a broken policy: got %d, want 400 or 422", code)
	}
	for _, want := range []string{policyURL, "broken-rule", ":8:"} {
		if !strings.Contains(body, want) {
			t.Errorf("refresh error %s: does not name %q", body, want)
		}
	}
	if got := components(); got != 0 {
		t.Fatalf("components after a broken policy: got %d, want 0 (the previous policy)", got)
	}
	page := getBody(t, base+"/settings/permissions")
	if !strings.Contains(page, `id="policy-error"`) || !strings.Contains(page, "broken-rule") {
		t.Errorf("the permissions page does not show the failed reload")
	}

	// An unreachable or failing host keeps the previous policy too.
	host.set(500, "oops")
	if code, body := refresh(); code < 500 {
		t.Errorf("refresh with the host failing: got %d %s, want a 5xx", code, body)
	}
	if got := components(); got != 0 {
		t.Fatalf("components while the host fails: got %d, want 0", got)
	}

	// Without any refresh call, the poller picks up the fixed policy.
	host.set(200, policyAllowAll)
	deadline := time.Now().Add(time.Minute)
	for components() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the policy URL was not read again within a minute")
		}
		time.Sleep(50 * time.Millisecond)
	}

	audit := getBody(t, base+"/api/audit/events?action=atrium.policy.reload")
	for _, want := range []string{`"outcome":"succeeded"`, `"outcome":"failed"`, "broken-rule", "HTTP 500"} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit records of policy reloads lack %q: %s", want, audit)
		}
	}
}

func getBody(t *testing.T, u string) string {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: got %d %s", u, res.StatusCode, b)
	}
	return string(b)
}

// TestPolicyFromEmbeddedGitHost keeps the policy in a repository of
// Atrium's own git host (<baseUrl>/git/…), which is read in process: that
// host wants a principal over HTTP, and needs no backend.reading.allow
// entry.
func TestPolicyFromEmbeddedGitHost(t *testing.T) {
	dataDir := t.TempDir()
	repo := filepath.Join(dataDir, "git", "platform", "policies")
	if err := os.MkdirAll(repo, 0o755); err != nil {
		t.Fatal(err)
	}
	writePolicy := func(p string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(repo, "policy.yaml"), []byte(p), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writePolicy(policyAllowAll)
	entities := filepath.Join(t.TempDir(), "catalog-info.yaml")
	if err := os.WriteFile(entities, []byte("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: { name: svc }\nspec: { type: service, lifecycle: production, owner: team-a }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const policyURL = "http://portal.atrium.test/git/platform/policies/tree/main/policy.yaml"
	base := apptest.Start(t, `backend:
  baseUrl: http://portal.atrium.test
catalog:
  locations: [{ type: file, target: "`+entities+`" }]
permission:
  policies: ["`+policyURL+`"]
atrium:
  dataDir: "`+dataDir+`"
  authz:
    admins: [user:default/guest]
    urlRefreshInterval: 0
`)
	count := func() int {
		t.Helper()
		res, err := http.Get(base + "/api/catalog/entities?filter=kind=component")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var items []json.RawMessage
		if err := json.NewDecoder(res.Body).Decode(&items); err != nil {
			t.Fatal(err)
		}
		return len(items)
	}
	if got := count(); got != 1 {
		t.Fatalf("components under the first policy: got %d, want 1", got)
	}
	writePolicy(policyHideComponents)
	res, err := http.Post(base+"/api/permission/policies/refresh", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), `"changed":true`) {
		t.Fatalf("refresh: got %d %s", res.StatusCode, body)
	}
	if got := count(); got != 0 {
		t.Fatalf("components after the policy in the repository changed: got %d, want 0", got)
	}
	if err := os.Remove(filepath.Join(repo, "policy.yaml")); err != nil {
		t.Fatal(err)
	}
	res, err = http.Post(base+"/api/permission/policies/refresh", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode == 200 || !strings.Contains(string(body), "does not exist on the embedded git host") {
		t.Errorf("refresh of a removed policy: got %d %s, want an error", res.StatusCode, body)
	}
	if got := count(); got != 0 {
		t.Fatalf("components after the policy file vanished: got %d, want 0 (the previous policy)", got)
	}
}
