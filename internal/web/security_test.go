package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// secureServer is a server with the security middleware and two routes.
func secureServer(t testing.TB, sec Security) http.Handler {
	t.Helper()
	s := NewServer(Params{
		Security: sec,
		Routes: []func(Mux){func(m Mux) {
			m.HandleFunc("GET /api/thing", func(w http.ResponseWriter, r *http.Request) {
				WriteJSON(w, 200, map[string]string{"csrf": CSRFToken(r)})
			})
			m.HandleFunc("POST /api/thing", func(w http.ResponseWriter, r *http.Request) { WriteJSON(w, 201, map[string]string{}) })
			m.HandleFunc("GET /api/search", func(w http.ResponseWriter, r *http.Request) { WriteJSON(w, 200, map[string]string{}) })
		}},
	})
	return s.Handler()
}

func send(h http.Handler, method, target string, hdr map[string]string, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.RemoteAddr = "192.0.2.1:1234"
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	h := secureServer(t, Security{})
	for _, tt := range []struct{ method, path string }{{"GET", "/api/thing"}, {"GET", "/nope"}, {"GET", "/healthz"}, {"POST", "/api/thing"}} {
		w := send(h, tt.method, tt.path, nil, "")
		for k, want := range map[string]string{
			"Content-Security-Policy": ContentSecurityPolicy,
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "strict-origin-when-cross-origin",
			"X-Frame-Options":         "DENY",
		} {
			if got := w.Header().Get(k); got != want {
				t.Errorf("%s %s (%d): %s: got %q, want %q", tt.method, tt.path, w.Code, k, got, want)
			}
		}
		if strings.Contains(w.Header().Get("Content-Security-Policy"), "unsafe-inline") {
			t.Errorf("CSP allows unsafe-inline")
		}
		if got := w.Header().Get("Strict-Transport-Security"); got != "" {
			t.Errorf("HSTS without TLS: got %q", got)
		}
	}
	w := send(secureServer(t, Security{Headers: HeadersConfig{TLS: true}}), "GET", "/nope", nil, "")
	if got := w.Header().Get("Strict-Transport-Security"); !strings.HasPrefix(got, "max-age=31536000") {
		t.Errorf("HSTS under TLS: got %q", got)
	}
}

func TestCORS(t *testing.T) {
	h := secureServer(t, Security{CORS: CORSConfig{Origins: []string{"https://app.example.com", "https://*.tools.example.com"}, Credentials: true, MaxAge: 600}})
	closed := secureServer(t, Security{})
	tests := []struct {
		name              string
		h                 http.Handler
		method, origin    string
		preflight         bool
		wantStatus        int
		wantAllow, wantCr string
	}{
		{"closed by default", closed, "GET", "https://app.example.com", false, 200, "", ""},
		{"closed preflight refused", closed, "OPTIONS", "https://app.example.com", true, 403, "", ""},
		{"listed origin", h, "GET", "https://app.example.com", false, 200, "https://app.example.com", "true"},
		{"wildcard subdomain", h, "GET", "https://ci.tools.example.com", false, 200, "https://ci.tools.example.com", "true"},
		{"wildcard does not cross dots into paths", h, "GET", "https://evil.com/x.tools.example.com", false, 200, "", ""},
		{"unlisted origin", h, "GET", "https://evil.example", false, 200, "", ""},
		{"listed preflight", h, "OPTIONS", "https://app.example.com", true, 204, "https://app.example.com", "true"},
		{"unlisted preflight", h, "OPTIONS", "https://evil.example", true, 403, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := map[string]string{"Origin": tt.origin}
			if tt.preflight {
				hdr["Access-Control-Request-Method"] = "POST"
			}
			w := send(tt.h, tt.method, "/api/thing", hdr, "")
			if w.Code != tt.wantStatus {
				t.Errorf("status: got %d, want %d", w.Code, tt.wantStatus)
			}
			if got := w.Header().Get("Access-Control-Allow-Origin"); got != tt.wantAllow {
				t.Errorf("allow origin: got %q, want %q", got, tt.wantAllow)
			}
			if got := w.Header().Get("Access-Control-Allow-Credentials"); got != tt.wantCr {
				t.Errorf("allow credentials: got %q, want %q", got, tt.wantCr)
			}
			if tt.preflight && tt.wantStatus == 204 && !strings.Contains(w.Header().Get("Access-Control-Allow-Headers"), CSRFHeader) {
				t.Errorf("preflight allow headers: got %q", w.Header().Get("Access-Control-Allow-Headers"))
			}
		})
	}
	any := secureServer(t, Security{CORS: CORSConfig{Origins: []string{"*"}, Credentials: true}})
	w := send(any, "GET", "/api/thing", map[string]string{"Origin": "https://x.example"}, "")
	if w.Header().Get("Access-Control-Allow-Origin") != "*" || w.Header().Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("lone *: got %v, want * without credentials", w.Header())
	}
}

func TestCSRF(t *testing.T) {
	h := secureServer(t, Security{CSRF: CSRFConfig{Key: []byte("k"), Binding: func(r *http.Request) string { return r.Header.Get("X-Test-Session") }}})
	// A page load sets the browser cookie and gives out a token.
	w := send(h, "GET", "/api/thing", map[string]string{"X-Test-Session": "s1"}, "")
	ck := w.Result().Cookies()
	if len(ck) != 1 || ck[0].Name != "atrium-csrf" || !ck[0].HttpOnly || ck[0].SameSite != http.SameSiteLaxMode {
		t.Fatalf("cookie: got %+v", ck)
	}
	var body struct{ CSRF string }
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.CSRF == "" {
		t.Fatalf("token: got %q, %v", w.Body.String(), err)
	}
	cookie := ck[0].Name + "=" + ck[0].Value + "; atrium_session=abc"
	form := url.Values{CSRFField: {body.CSRF}}.Encode()
	tests := []struct {
		name string
		hdr  map[string]string
		body string
		want int
	}{
		{"cookie without token", map[string]string{"Cookie": cookie, "X-Test-Session": "s1"}, "", 403},
		{"cookie with header token", map[string]string{"Cookie": cookie, "X-Test-Session": "s1", CSRFHeader: body.CSRF}, "", 201},
		{"cookie with form token", map[string]string{"Cookie": cookie, "X-Test-Session": "s1", "Content-Type": "application/x-www-form-urlencoded"}, form, 201},
		{"token of another session", map[string]string{"Cookie": cookie, "X-Test-Session": "s2", CSRFHeader: body.CSRF}, "", 403},
		{"token without the browser cookie", map[string]string{"Cookie": "atrium_session=abc", "X-Test-Session": "s1", CSRFHeader: body.CSRF}, "", 403},
		{"forged token", map[string]string{"Cookie": cookie, "X-Test-Session": "s1", CSRFHeader: "AAAA"}, "", 403},
		{"bearer token is exempt", map[string]string{"Cookie": cookie, "Authorization": "Bearer x"}, "", 201},
		{"no cookies, no browser signals (CLI)", nil, "", 201},
		{"cross-site browser without cookies", map[string]string{"Origin": "https://evil.example"}, "", 403},
		{"cross-site fetch metadata", map[string]string{"Sec-Fetch-Site": "cross-site"}, "", 403},
		{"same-origin browser without cookies", map[string]string{"Origin": "http://example.com", "Sec-Fetch-Site": "same-origin"}, "", 201},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := send(h, "POST", "/api/thing", tt.hdr, tt.body)
			if w.Code != tt.want {
				t.Errorf("got %d %s, want %d", w.Code, w.Body.String(), tt.want)
			}
			if tt.want == 403 && !strings.Contains(w.Body.String(), "CSRF token") {
				t.Errorf("body: got %s", w.Body.String())
			}
		})
	}
}

// TestCSRFCookieOnlyWithAToken checks that the browser cookie is set only
// on answers that give out a token (pages with forms), once, and never
// replaced: API answers carry no Set-Cookie.
func TestCSRFCookieOnlyWithAToken(t *testing.T) {
	cfg := CSRFConfig{Key: []byte("k")}
	s := NewServer(Params{
		Security: Security{CSRF: cfg},
		Routes: []func(Mux){func(m Mux) {
			m.HandleFunc("GET /api/entity", func(w http.ResponseWriter, r *http.Request) { WriteJSON(w, 200, map[string]string{}) })
			m.HandleFunc("GET /page", func(w http.ResponseWriter, r *http.Request) {
				first, second := CSRFToken(r), CSRFToken(r)
				if first == "" || first != second {
					t.Errorf("tokens of one request: got %q and %q, want one non-empty token", first, second)
				}
				WriteJSON(w, 200, map[string]string{"csrf": first})
			})
		}},
	})
	h := s.Handler()
	if w := send(h, "GET", "/api/entity", nil, ""); w.Code != 200 || w.Header().Values("Set-Cookie") != nil {
		t.Fatalf("API answer: got %d, Set-Cookie %q, want 200 and none", w.Code, w.Header().Values("Set-Cookie"))
	}
	w := send(h, "GET", "/page", nil, "")
	if got := w.Header().Values("Set-Cookie"); w.Code != 200 || len(got) != 1 || !strings.HasPrefix(got[0], "atrium-csrf=") {
		t.Fatalf("page without the cookie: got %d, Set-Cookie %q, want one atrium-csrf cookie", w.Code, got)
	}
	const browser = "0123456789abcdef0123"
	w = send(h, "GET", "/page", map[string]string{"Cookie": "atrium-csrf=" + browser}, "")
	if got := w.Header().Values("Set-Cookie"); got != nil {
		t.Fatalf("page with the cookie: Set-Cookie %q, want none", got)
	}
	var body struct{ CSRF string }
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.CSRF != cfg.token(browser, "") {
		t.Fatalf("token for the sent cookie: got %q, %v, want %q", body.CSRF, err, cfg.token(browser, ""))
	}
}

func TestRateLimit(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	lim := &MemoryLimiter{Now: func() time.Time { return now }}
	h := secureServer(t, Security{RateLimit: RateLimitConfig{
		Limiter: lim,
		Default: Budget{Name: "default", Rate: 1, Burst: 3},
		Budgets: []RouteBudget{{Budget: Budget{Name: "search", Rate: 0.1, Burst: 1}, Routes: []string{"GET /api/search"}}},
		Exempt:  HealthRoutes,
	}})
	for i := 0; i < 3; i++ {
		if w := send(h, "GET", "/api/thing", nil, ""); w.Code != 200 {
			t.Fatalf("request %d: got %d", i, w.Code)
		}
	}
	w := send(h, "GET", "/api/thing", nil, "")
	if w.Code != 429 || w.Header().Get("Retry-After") != "1" {
		t.Fatalf("over budget: got %d Retry-After %q, want 429 and 1", w.Code, w.Header().Get("Retry-After"))
	}
	var body ErrorBody
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error.Name != "Error" ||
		body.Error.Message != "Too many requests, please try again later" || body.Response.StatusCode != 429 {
		t.Errorf("429 body: got %s", w.Body.String())
	}
	if w := send(h, "GET", "/healthz", nil, ""); w.Code != 200 {
		t.Errorf("health checks are exempt: got %d", w.Code)
	}
	now = now.Add(time.Second)
	if w := send(h, "GET", "/api/thing", nil, ""); w.Code != 200 {
		t.Errorf("after refill: got %d, want 200", w.Code)
	}
	// Another client has its own bucket.
	r := httptest.NewRequest("GET", "/api/thing", nil)
	r.RemoteAddr = "192.0.2.2:1"
	rw := httptest.NewRecorder()
	h.ServeHTTP(rw, r)
	if rw.Code != 200 {
		t.Errorf("other client: got %d", rw.Code)
	}
	// The expensive budget is separate and smaller.
	now = now.Add(time.Hour)
	if w := send(h, "GET", "/api/search", nil, ""); w.Code != 200 {
		t.Fatalf("first search: got %d", w.Code)
	}
	w = send(h, "GET", "/api/search", nil, "")
	if w.Code != 429 || w.Header().Get("Retry-After") != "10" {
		t.Errorf("second search: got %d Retry-After %q, want 429 and 10", w.Code, w.Header().Get("Retry-After"))
	}
}

func TestRedisLimiterSharedAcrossInstances(t *testing.T) {
	addr := os.Getenv("ATRIUM_TEST_REDIS")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	client := redis.NewClient(&redis.Options{Addr: addr})
	defer client.Close()
	ctx := context.Background()
	if err := client.Ping(ctx).Err(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("Redis at %s: %v", addr, err)
		}
		t.Skipf("Redis at %s: %v", addr, err)
	}
	prefix := "atrium-test:" + newID() + ":"
	a := &RedisLimiter{Client: client, Prefix: prefix}
	b := &RedisLimiter{Client: redis.NewClient(&redis.Options{Addr: addr}), Prefix: prefix}
	budget := Budget{Name: "default", Rate: 0.5, Burst: 4}
	taken := 0
	for i := 0; i < 4; i++ {
		l := a
		if i%2 == 1 {
			l = b
		}
		ok, _, err := l.Take(ctx, "user:default/jane", budget)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			taken++
		}
	}
	if taken != 4 {
		t.Fatalf("burst through two instances: got %d, want 4", taken)
	}
	for _, l := range []*RedisLimiter{a, b} {
		ok, retry, err := l.Take(ctx, "user:default/jane", budget)
		if err != nil || ok || retry <= 0 || retry > 2*time.Second {
			t.Errorf("after the shared burst: got ok=%v retry=%v err=%v, want refused with a retry up to 2s", ok, retry, err)
		}
	}
	if ok, _, _ := b.Take(ctx, "user:default/bob", budget); !ok {
		t.Errorf("another principal's bucket is separate")
	}
}

// BenchmarkSecurityChain measures a GET through headers, CORS, rate limit
// (in memory) and CSRF against the bare route.
func BenchmarkSecurityChain(b *testing.B) {
	for _, tt := range []struct {
		name string
		sec  Security
	}{
		{"none", Security{}},
		{"all", Security{
			CORS:      CORSConfig{Origins: []string{"https://app.example.com"}},
			RateLimit: RateLimitConfig{Limiter: &MemoryLimiter{}, Default: Budget{Name: "d", Rate: 1e9, Burst: 1 << 30}},
		}},
	} {
		h := secureServer(b, tt.sec)
		b.Run(tt.name, func(b *testing.B) {
			r := httptest.NewRequest("GET", "/api/thing", nil)
			r.Header.Set("Cookie", "atrium-csrf=0123456789abcdef0123")
			for b.Loop() {
				h.ServeHTTP(httptest.NewRecorder(), r)
			}
		})
	}
}

func BenchmarkRedisLimiter(b *testing.B) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer client.Close()
	if err := client.Ping(context.Background()).Err(); err != nil {
		b.Skipf("Redis: %v", err)
	}
	l := &RedisLimiter{Client: client, Prefix: "atrium-bench:" + newID() + ":"}
	for b.Loop() {
		if _, _, err := l.Take(context.Background(), "user:default/jane", Budget{Name: "d", Rate: 1e9, Burst: 1 << 30}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestTrustProxy(t *testing.T) {
	tests := []struct {
		name string
		hops int
		xff  []string
		want string
	}{
		{"no proxy ignores the header", 0, []string{"203.0.113.9"}, "192.0.2.1"},
		{"one proxy", 1, []string{"203.0.113.9"}, "203.0.113.9"},
		{"client-written addresses are skipped", 1, []string{"10.6.6.6, 203.0.113.9"}, "203.0.113.9"},
		{"two proxies", 2, []string{"10.6.6.6, 203.0.113.9", "198.51.100.7"}, "203.0.113.9"},
		{"too few addresses", 2, []string{"203.0.113.9"}, "192.0.2.1"},
		{"not an address", 1, []string{"unknown"}, "192.0.2.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			h := TrustProxy(tt.hops)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = remoteIP(r) }))
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = "192.0.2.1:1234"
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
