package pluginhost

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/atrium-portal/atrium/internal/auth"
)

// allowOnly grants the listed permissions.
type allowOnly map[string]bool

func (a allowOnly) Authorize(_ context.Context, perm string) (bool, error) { return a[perm], nil }

func serveWith(t *testing.T, h http.Handler, method, path string, p *auth.Principal) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	if p != nil {
		r = r.WithContext(auth.WithPrincipal(r.Context(), p))
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestAPIAndPage checks /api/plugins and /settings/plugins on a host
// running the test plugin (in a subprocess) with a local registry.
func TestAPIAndPage(t *testing.T) {
	dir := t.TempDir()
	index := strings.Replace(goodIndex, "id: hello", "id: echo", 1)
	if err := os.WriteFile(filepath.Join(dir, "index.yaml"), []byte(index), 0o600); err != nil {
		t.Fatal(err)
	}
	h := NewHost(HostOptions{Store: &Store{Dir: filepath.Join(dir, "plugins")}, Limits: testLimits(),
		Registry: filepath.Join(dir, "index.yaml"), UnmaintainedAfter: 90 * 24 * time.Hour,
		Builtins: func() []Stats {
			return []Stats{{ID: "scaffolder", Version: "1.0.0", Kind: "builtin", State: StateRunning}}
		}})
	s := NewSupervisor(Spec{Manifest: Manifest{ID: "echo", Version: "1.0.0"}, Limits: testLimits()}, SupervisorParams{Launcher: &procLauncher{mode: "echo"}})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Stop(context.Background(), false)
	h.sups["echo"] = s
	if _, err := echo(context.Background(), s, "x", 0); err != nil {
		t.Fatal(err)
	}
	s.CheckHealth(context.Background())

	mux := http.NewServeMux()
	now := func() time.Time { return time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) }
	admin := allowOnly{PermissionRead: true, PermissionManage: true}
	(&API{Host: h, Authorizer: admin, Now: now}).Register(mux)
	var rendered PageView
	(&Page{Host: h, Authorizer: admin, Now: now, Render: func(w http.ResponseWriter, r *http.Request, v PageView) {
		rendered = v
		w.WriteHeader(v.Status)
	}}).Register(mux)
	user := &auth.Principal{Type: auth.PrincipalUser, Ref: "user:default/jane"}

	w := serveWith(t, mux, "GET", "/api/plugins", user)
	if w.Code != 200 {
		t.Fatalf("GET /api/plugins: %d %s", w.Code, w.Body)
	}
	var o Overview
	if err := json.Unmarshal(w.Body.Bytes(), &o); err != nil {
		t.Fatal(err)
	}
	if len(o.Plugins) != 2 || o.Plugins[0].ID != "echo" || o.Plugins[1].Kind != "builtin" {
		t.Fatalf("plugins: %+v", o.Plugins)
	}
	e := o.Plugins[0]
	if e.State != StateRunning || e.Calls != 1 || e.RSSBytes <= 0 || e.MemoryLimit != 256<<20 || e.Pid == 0 {
		t.Errorf("echo stats: %+v", e)
	}
	if o.Registry.Error != "" || len(o.Registry.Plugins) != 1 {
		t.Fatalf("registry: %+v", o.Registry)
	}
	rp := o.Registry.Plugins[0]
	if rp.Installed != "1.0.0" || rp.Compatible != "1.0.0" || rp.LatestVersion != "2.0.0" || !rp.Unmaintained {
		t.Errorf("registry plugin: %+v", rp)
	}

	// The page shows the same, with state colours and the matrix.
	w = serveWith(t, mux, "GET", "/settings/plugins", user)
	if w.Code != 200 || rendered.Title != "Plugins" {
		t.Fatalf("page: %d %+v", w.Code, rendered)
	}
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(string(rendered.Body)))
	if err != nil {
		t.Fatal(err)
	}
	if got := doc.Find("#plugin-echo .badge.ok").First().Text(); got != "running" {
		t.Errorf("echo's state badge: %q", got)
	}
	if doc.Find("#plugin-echo .not-wired").Length() != 1 {
		t.Error("a plugin not wired at start has no badge saying so")
	}
	if n := doc.Find("#plugin-echo meter").Length(); n != 1 {
		t.Errorf("memory meters: %d", n)
	}
	if got := doc.Find("#plugin-scaffolder").AttrOr("data-kind", ""); got != "builtin" {
		t.Errorf("built-in row: %q", got)
	}
	if doc.Find("#registry-echo .unmaintained").Length() != 1 {
		t.Error("no unmaintained flag")
	}
	if got := doc.Find(`#registry-echo tr[data-version="2.0.0"] td .badge`).Map(func(_ int, s *goquery.Selection) string { return s.Text() }); strings.Join(got, " ") != "no yes yes" {
		t.Errorf("2.0.0 row: %v", got)
	}
	if strings.Contains(string(rendered.Body), "<script") || strings.Contains(string(rendered.Body), "style=") {
		t.Error("the page has inline script or style")
	}

	// Permissions: no principal → 401; without the permission → 403.
	if w := serveWith(t, mux, "GET", "/api/plugins", nil); w.Code != 401 {
		t.Errorf("anonymous: %d", w.Code)
	}
	reader := allowOnly{PermissionRead: true}
	mux2 := http.NewServeMux()
	(&API{Host: h, Authorizer: allowOnly{}}).Register(mux2)
	if w := serveWith(t, mux2, "GET", "/api/plugins", user); w.Code != 403 || !strings.Contains(w.Body.String(), PermissionRead) {
		t.Errorf("without permission: %d %s", w.Code, w.Body)
	}
	mux3 := http.NewServeMux()
	(&API{Host: h, Authorizer: reader}).Register(mux3)
	if w := serveWith(t, mux3, "POST", "/api/plugins/echo/restart", user); w.Code != 403 {
		t.Errorf("restart without manage: %d", w.Code)
	}

	// Restart: a fresh process.
	pid := s.Stats().Pid
	if w := serveWith(t, mux, "POST", "/api/plugins/echo/restart", user); w.Code != 200 {
		t.Fatalf("restart: %d %s", w.Code, w.Body)
	}
	if st := s.Stats(); st.Pid == pid || st.Restarts != 1 {
		t.Errorf("after restart: pid %d (was %d), restarts %d", st.Pid, pid, st.Restarts)
	}
	if w := serveWith(t, mux, "POST", "/api/plugins/nope/restart", user); w.Code != 404 {
		t.Errorf("restart of an unknown plugin: %d", w.Code)
	}
}
