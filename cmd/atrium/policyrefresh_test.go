package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/atrium-portal/atrium/internal/app/apptest"
)

// TestPolicyRefreshCLI runs `atrium policy refresh` against a running
// Atrium whose policy is served over HTTP: it reports an unchanged and a
// changed policy, and fails naming the URL and rule of a broken one.
func TestPolicyRefreshCLI(t *testing.T) {
	var mu sync.Mutex
	policy := "rules:\n  - name: everyone\n    effect: allow\n    permissions: ['*']\n"
	host := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		io.WriteString(w, policy)
	}))
	defer host.Close()
	set := func(p string) {
		mu.Lock()
		defer mu.Unlock()
		policy = p
	}
	u, _ := url.Parse(host.URL)
	policyURL := host.URL + "/policies/main/policy.yaml"
	base := apptest.Start(t, "backend:\n  reading:\n    allow: [{ host: \""+u.Host+"\" }]\n"+
		"permission:\n  policies: [\""+policyURL+"\"]\n"+
		"atrium:\n  authz:\n    admins: [user:default/guest]\n    urlRefreshInterval: 0\n")

	refresh := func() (int, string, string) { return runCLI(t, "policy", "refresh", "--url", base) }
	if code, out, errs := refresh(); code != 0 || !strings.Contains(out, "policy unchanged") || !strings.Contains(out, policyURL) {
		t.Errorf("unchanged policy: got %d %q %q", code, out, errs)
	}
	set("rules:\n  - name: everyone\n    effect: allow\n    permissions: ['*']\n  - name: no-deletes\n    effect: deny\n    permissions: [catalog.entity.delete]\n")
	if code, out, errs := refresh(); code != 0 || !strings.Contains(out, "policy changed") {
		t.Errorf("changed policy: got %d %q %q", code, out, errs)
	}
	set("rules:\n  - name: broken-rule\n    effect: maybe\n    permissions: ['*']\n")
	code, out, errs := refresh()
	if code == 0 || !strings.Contains(errs, policyURL) || !strings.Contains(errs, "broken-rule") {
		t.Errorf("broken policy: got %d %q %q, want a failure naming the URL and the rule", code, out, errs)
	}
	if code, _, errs := runCLI(t, "policy", "refresh"); code == 0 || !strings.Contains(errs, "--url") {
		t.Errorf("without --url: got %d %q", code, errs)
	}
}
