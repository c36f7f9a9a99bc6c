package auth_test

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/app"
	"github.com/atrium-portal/atrium/internal/config"
)

// publicRoutes is the explicit list of routes that answer without
// credentials. A new route is authenticated unless it is added here, in
// the same change that makes it public.
var publicRoutes = []string{
	"GET /healthz",
	"GET /readyz",
	"GET /.backstage/health/v1/liveness",
	"GET /.backstage/health/v1/readiness",
	"GET /static/{name}",
	"GET /manifest.webmanifest",
	"GET /favicon.ico",
	"GET /auth/login",
	"GET /api/auth/{provider}/start",
	"GET /api/auth/{provider}/handler/frame",
	// Webhooks (GitLab push events…) cannot carry an Atrium token: each
	// plugin's EventSubscriber.Verify checks the sender's signature or
	// token before anything is handled, and refuses with 401.
	"POST /api/events/{plugin}/{path...}",
}

var wildcard = regexp.MustCompile(`\{[^}]*\}`)

// TestEveryRouteIsAuthenticated requests every route the server registered,
// without credentials: each answers 401 (or, for a browser asking for a
// page, a redirect to the sign-in page) unless it is on publicRoutes.
func TestEveryRouteIsAuthenticated(t *testing.T) {
	m := startOIDC(t)
	s := startAtrium(t, providerYAML(m, ""))
	all, public := s.App.Routes()

	slices.Sort(public)
	want := slices.Clone(publicRoutes)
	slices.Sort(want)
	if !slices.Equal(public, want) {
		t.Errorf("public routes: got %v, want %v", public, want)
	}
	if len(all) < 20 {
		t.Fatalf("routes: got %d (%v), want the whole portal", len(all), all)
	}
	for _, pattern := range all {
		method, path, ok := strings.Cut(pattern, " ")
		if !ok {
			method, path = "GET", pattern
		}
		path = strings.ReplaceAll(path, "{$}", "")
		path = wildcard.ReplaceAllString(path, "x")
		t.Run(pattern, func(t *testing.T) {
			status, body := call(t, noRedirects(http.DefaultClient), method, s.URL+path, "", "", "Accept", "application/json")
			if slices.Contains(publicRoutes, pattern) {
				if status == 401 {
					t.Errorf("public route %s %s: got 401", method, path)
				}
				return
			}
			// A HEAD answer has no body to name the error in.
			wantBody := method != "HEAD"
			if status != 401 || (wantBody && !strings.Contains(string(body), `"AuthenticationError"`)) {
				t.Errorf("%s %s without credentials: got %d %.200s, want 401 AuthenticationError", method, path, status, body)
			}
			if method != "GET" || strings.HasPrefix(path, "/api/") {
				return
			}
			req, _ := http.NewRequest("GET", s.URL+path, nil)
			req.Header.Set("Accept", "text/html")
			resp, err := noRedirects(http.DefaultClient).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if loc := resp.Header.Get("Location"); resp.StatusCode != 303 || !strings.HasPrefix(loc, "/auth/login?redirect=") {
				t.Errorf("page %s: got %d to %q, want 303 to the sign-in page", path, resp.StatusCode, loc)
			}
		})
	}
}

func TestSignInPage(t *testing.T) {
	m := startOIDC(t)
	s := startAtrium(t, providerYAML(m, ""))
	status, body := call(t, http.DefaultClient, "GET", s.URL+"/auth/login?redirect=/catalog", "", "")
	if status != 200 || !strings.Contains(strings.ToLower(string(body)), `href="/api/auth/oidc/start?redirect=%2fcatalog"`) {
		t.Errorf("sign-in page: got %d %s", status, body)
	}
	if strings.Contains(string(body), "dev-mode") || strings.Contains(string(body), "dev-banner") {
		t.Errorf("sign-in page shows the development banner with a provider configured")
	}
	// Open redirects are neutralised.
	_, body = call(t, http.DefaultClient, "GET", s.URL+"/auth/login?redirect=//evil.test/x", "", "")
	if !strings.Contains(strings.ToLower(string(body)), "redirect=%2f\"") {
		t.Errorf("open redirect kept: %s", body)
	}
}

func TestSessionExpiryAndRevocation(t *testing.T) {
	m := startOIDC(t)
	s := startAtrium(t, providerYAML(m, "  session: { idleTimeout: 30m, absoluteTimeout: 12h }\n"))
	ctx := context.Background()
	st := s.App.Store()

	c1, c2 := browser(t), browser(t)
	for _, c := range []*http.Client{c1, c2} {
		if status, body := signIn(t, c, s.URL, m, jane); status != 200 {
			t.Fatalf("sign-in: got %d %s", status, body)
		}
	}
	sessions, err := st.SessionList(ctx, "user:default/jane")
	if err != nil || len(sessions) != 2 {
		t.Fatalf("sessions: got %d, %v, want 2", len(sessions), err)
	}
	for _, ss := range sessions {
		if got := ss.ExpiresAt.Sub(ss.CreatedAt); got != 12*time.Hour {
			t.Errorf("absolute expiry: got %v, want 12h", got)
		}
	}

	// Browser 1 ends browser 2's session from the Sessions page.
	var other string
	_, body := call(t, c1, "GET", s.URL+"/settings/sessions", "", "")
	for _, ss := range sessions {
		if !strings.Contains(string(body), `id="session-`+ss.ID+`">`) {
			t.Errorf("sessions page lacks %s", ss.ID)
		}
	}
	status, body := call(t, c2, "GET", s.URL+"/api/auth/sessions", "", "")
	if status != 200 {
		t.Fatalf("list: %d %s", status, body)
	}
	other = regexpFind(t, `"id":"([0-9a-f]+)","provider":"oidc","ip":"[^"]*","userAgent":"[^"]*","createdAt":"[^"]*","lastSeenAt":"[^"]*","expiresAt":"[^"]*","current":true`, body)
	if status, _ := postForm(t, c1, s.URL, "/settings/sessions", "/settings/sessions/"+other+"/revoke", nil); status != 303 {
		t.Fatalf("revoke: got %d, want 303", status)
	}
	if status, _ := whoami(t, c2, s.URL, ""); status != 401 {
		t.Errorf("revoked session: got %d, want 401", status)
	}
	if status, _ := whoami(t, c1, s.URL, ""); status != 200 {
		t.Errorf("the other session: got %d, want 200", status)
	}
	// Another user's session cannot be ended.
	if status, _ := call(t, c1, "DELETE", s.URL+"/api/auth/sessions/nope", "", "", "Origin", s.URL); status != 403 && status != 404 {
		t.Errorf("unknown session: got %d, want 404 (or 403 from CSRF)", status)
	}

	// Idle too long: the session ends and a page request goes to sign-in.
	remaining, _ := st.SessionList(ctx, "user:default/jane")
	if len(remaining) != 1 {
		t.Fatalf("remaining sessions: got %d, want 1", len(remaining))
	}
	if err := st.SessionTouch(ctx, remaining[0].Hash, time.Now().Add(-31*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if status, body := whoami(t, c1, s.URL, ""); status != 401 {
		t.Errorf("idle session: got %d %+v, want 401", status, body)
	}
	if left, _ := st.SessionList(ctx, "user:default/jane"); len(left) != 0 {
		t.Errorf("idle session kept in the database")
	}
}

func TestDevelopmentMode(t *testing.T) {
	s := devAtrium(t, "")
	status, who := whoami(t, http.DefaultClient, s.URL, "")
	if status != 200 || who.Claims.Sub != "user:default/jane" || who.Via != "dev" || len(who.Claims.Ent) != 4 {
		t.Errorf("development principal: got %d %+v, want jane via dev with her groups", status, who)
	}
	_, body := call(t, http.DefaultClient, "GET", s.URL+"/auth/login", "", "")
	if !strings.Contains(string(body), "Development mode — no sign-in configured") {
		t.Errorf("sign-in page lacks the development banner: %s", body)
	}
	_, body = call(t, http.DefaultClient, "GET", s.URL+"/catalog", "", "")
	if !strings.Contains(string(body), `id="dev-banner"`) || !strings.Contains(string(body), "Development mode — no sign-in configured") {
		t.Errorf("portal page lacks the development banner: %s", body)
	}
}

func TestDevelopmentModeRefusedOffLoopback(t *testing.T) {
	tests := []struct{ host, want string }{
		{"0.0.0.0", "backend.listen.host is 0.0.0.0"},
		{"", "backend.listen.host is every interface"},
		{"192.0.2.10", "backend.listen.host is 192.0.2.10"},
	}
	for _, tt := range tests {
		t.Run("host="+tt.host, func(t *testing.T) {
			dir := t.TempDir()
			cfg, err := config.LoadBytes("test.yaml", []byte(`backend:
  listen: { host: "`+tt.host+`", port: 0 }
  database: { client: sqlite, connection: `+dir+`/a.db }
atrium: { dataDir: `+dir+`, demo: false }
`), nil)
			if err != nil {
				t.Fatal(err)
			}
			a, err := app.New(context.Background(), cfg, app.Options{})
			if err == nil {
				_ = a.Close()
				t.Fatal("started without a sign-in provider on a non-loopback address")
			}
			for _, w := range []string{tt.want, "auth.providers", "127.0.0.1"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}
