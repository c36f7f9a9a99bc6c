package auth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/atrium-portal/atrium/internal/app"
	"github.com/atrium-portal/atrium/internal/config"
)

// syncBuffer collects log output from many goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// server is a running Atrium with the test organisation in its catalog.
type server struct {
	URL  string
	App  *app.App
	Logs *syncBuffer
}

// startAtrium runs the real app on 127.0.0.1:0 with SQLite, the test
// organisation and extra configuration, capturing every log line.
func startAtrium(t testing.TB, extraYAML string) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return startAtriumOn(t, ln, extraYAML)
}

// startAtriumOn is startAtrium on a listener the caller opened (so that
// its address can be registered at an identity provider first).
func startAtriumOn(t testing.TB, ln net.Listener, extraYAML string) *server {
	t.Helper()
	dir := t.TempDir()
	org, err := filepath.Abs("testdata/org.yaml")
	if err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf(`backend:
  baseUrl: http://%s
  listen: { host: 127.0.0.1, port: 0 }
  database: { client: sqlite, connection: %q }
catalog:
  processingInterval: false
  rules:
    - allow: [User, Group]
  locations:
    - { type: file, target: %q }
atrium:
  dataDir: %q
  demo: false
`, ln.Addr(), filepath.Join(dir, "atrium.db"), org, filepath.Join(dir, "data"))
	basePath, extraPath := filepath.Join(dir, "base.yaml"), filepath.Join(dir, "extra.yaml")
	if err := os.WriteFile(basePath, []byte(base), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(extraPath, []byte(extraYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load([]string{basePath, extraPath}, map[string]string{})
	if err != nil {
		_ = ln.Close()
		t.Fatalf("configuration: %v", err)
	}
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, app.Options{Logger: logger, Listener: ln})
	if err != nil {
		cancel()
		_ = ln.Close()
		t.Fatalf("starting: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("run: %v", err)
		}
		_ = a.Close()
		if t.Failed() {
			t.Logf("logs:\n%s", logs.String())
		}
	})
	select {
	case <-a.Ready():
	case err := <-done:
		done <- err
		t.Fatalf("stopped before it was ready: %v", err)
	}
	return &server{URL: "http://" + a.Addr().String(), App: a, Logs: logs}
}

// startOIDC runs an in-process OpenID Connect provider.
func startOIDC(t testing.TB) *mockoidc.MockOIDC {
	t.Helper()
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return m
}

// providerYAML configures m as the provider "oidc", plus extra keys under
// the auth section.
func providerYAML(m *mockoidc.MockOIDC, authExtra string) string {
	c := m.Config()
	return "auth:\n  providers:\n    oidc:\n      development:\n" +
		"        metadataUrl: " + m.DiscoveryEndpoint() + "\n" +
		"        clientId: " + c.ClientID + "\n        clientSecret: " + c.ClientSecret + "\n" + authExtra
}

// browser is an HTTP client with a cookie jar that follows redirects.
func browser(t testing.TB) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar}
}

// noRedirects returns c that stops at the first redirect.
func noRedirects(c *http.Client) *http.Client {
	cp := *c
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cp
}

// call sends a request and returns the status and body.
func call(t testing.TB, c *http.Client, method, url, bearer, body string, header ...string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// userinfo is the answer of GET /api/auth/v1/userinfo.
type userinfo struct {
	Claims struct {
		Sub string   `json:"sub"`
		Ent []string `json:"ent"`
	} `json:"claims"`
	Type string `json:"type"`
	Via  string `json:"via"`
}

func whoami(t testing.TB, c *http.Client, base, bearer string) (int, userinfo) {
	t.Helper()
	status, body := call(t, c, "GET", base+"/api/auth/v1/userinfo", bearer, "")
	var u userinfo
	if status == 200 {
		if err := json.Unmarshal(body, &u); err != nil {
			t.Fatalf("userinfo: %v: %s", err, body)
		}
	}
	return status, u
}

// signIn runs the whole browser sign-in against the mock provider as user
// and returns the final status and body.
func signIn(t testing.TB, c *http.Client, base string, m *mockoidc.MockOIDC, user *mockoidc.MockUser) (int, []byte) {
	t.Helper()
	m.QueueUser(user)
	return call(t, c, "GET", base+"/api/auth/oidc/start?redirect=/api/catalog/entities/by-name/user/default/jane", "", "")
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]*)"`)

// postForm fetches page for its CSRF token, then posts the form to action
// the way a browser does, and returns the status without following redirects.
func postForm(t testing.TB, c *http.Client, base, page, action string, form url.Values) (int, []byte) {
	t.Helper()
	_, body := call(t, c, "GET", base+page, "", "")
	m := csrfField.FindSubmatch(body)
	if m == nil {
		t.Fatalf("%s has no csrf_token field: %s", page, body)
	}
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf_token", html.UnescapeString(string(m[1])))
	req, err := http.NewRequest("POST", base+action, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	resp, err := noRedirects(c).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// regexpFind returns the first group of pattern in body.
func regexpFind(t testing.TB, pattern string, body []byte) string {
	t.Helper()
	m := regexp.MustCompile(pattern).FindSubmatch(body)
	if m == nil {
		t.Fatalf("%s not found in %s", pattern, body)
	}
	return string(m[1])
}
