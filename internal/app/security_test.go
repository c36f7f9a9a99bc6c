package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/atrium-portal/atrium/internal/app"
	"github.com/atrium-portal/atrium/internal/app/apptest"
	"github.com/atrium-portal/atrium/internal/audit"
	"github.com/atrium-portal/atrium/internal/config"
)

type auditPage struct {
	Items []audit.Entry `json:"items"`
}

func getAudit(t *testing.T, base, query string) auditPage {
	t.Helper()
	res, err := http.Get(base + "/api/audit/events?" + query)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var p auditPage
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("GET /api/audit/events: %d %s", res.StatusCode, b)
	}
	if err := json.NewDecoder(res.Body).Decode(&p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAuditMiddleware registers a location and makes a request that CSRF
// protection refuses, on both databases, and finds both in the audit log,
// which then verifies.
func TestAuditMiddleware(t *testing.T) {
	for _, db := range apptest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			srv := apptest.StartServer(t, db.YAML+"atrium:\n  allowedLocationTypes: [file, url]\n  authz: { admins: [user:default/guest] }\n")
			base := srv.BaseURL
			dir := t.TempDir()
			file := filepath.Join(dir, "catalog-info.yaml")
			if err := os.WriteFile(file, []byte("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: { name: svc }\nspec: { type: service, lifecycle: production, owner: team-a }\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			body := `{"type":"file","target":"` + file + `"}`
			res, err := http.Post(base+"/api/catalog/locations", "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			rb, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 201 {
				t.Fatalf("register: got %d %s, want 201", res.StatusCode, rb)
			}
			req, _ := http.NewRequest("POST", base+"/api/catalog/refresh", strings.NewReader(`{"entityRef":"component:default/svc"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Cookie", "atrium-csrf=0123456789abcdef0123")
			res, err = http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 403 {
				t.Fatalf("refresh with a cookie and no CSRF token: got %d, want 403", res.StatusCode)
			}

			created := getAudit(t, base, "action="+urlQuery("POST /api/catalog/locations"))
			if len(created.Items) != 1 {
				t.Fatalf("location registration records: got %d, want 1", len(created.Items))
			}
			e := created.Items[0]
			if e.Outcome != audit.Succeeded || e.Status != 201 || e.Actor.Ref == "" || e.Actor.Ref == audit.Anonymous ||
				e.IP != "127.0.0.1" || e.RequestID == "" || e.UserAgent == "" {
				t.Errorf("registration record: got %+v", e)
			}
			denied := getAudit(t, base, "outcome=denied")
			if len(denied.Items) != 1 || denied.Items[0].Action != "POST /api/catalog/refresh" || denied.Items[0].Status != 403 {
				t.Errorf("denied records: got %+v, want the refused refresh", denied.Items)
			}
			rep, err := srv.App.Audit().Verify(context.Background())
			if err != nil || !rep.OK() || rep.Checked != 2 {
				t.Errorf("Verify: got %+v %v, want 2 intact records", rep, err)
			}
			// Reads are not recorded, queries sent with POST included.
			for _, q := range []struct{ path, body string }{
				{"/api/catalog/entities/by-refs", `{"entityRefs":["component:default/svc"]}`},
				{"/api/catalog/entities/by-query", `{"filter":{"kind":"component"}}`},
				{"/api/catalog/entity-facets", `{"facets":["kind"]}`},
				{"/api/catalog/locations/by-query", `{}`},
			} {
				res, err := http.Post(base+q.path, "application/json", strings.NewReader(q.body))
				if err != nil {
					t.Fatal(err)
				}
				rb, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					t.Fatalf("POST %s: got %d %s, want 200", q.path, res.StatusCode, rb)
				}
			}
			if all := getAudit(t, base, ""); len(all.Items) != 2 {
				t.Errorf("records: got %d, want 2 (GETs and POST queries are not audited)", len(all.Items))
			}
			testAuditPage(t, base)
		})
	}
}

func urlQuery(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, " ", "%20"), "/", "%2F")
}

// syncBuffer collects log output from concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSecretsNeverShown puts a secret into the configuration through
// ${env:…}, sends it in request paths that end up in logs, error answers and
// the audit log, and greps all three for it.
func TestSecretsNeverShown(t *testing.T) {
	const secret = "s3cr3t-Audit-Key-4f9a1c"
	dir := t.TempDir()
	yaml := `backend:
  listen: { host: 127.0.0.1, port: 0 }
  database: { client: sqlite, connection: ` + filepath.Join(dir, "atrium.db") + ` }
catalog:
  processingInterval: false
atrium:
  dataDir: ` + filepath.Join(dir, "data") + `
  demo: false
  audit:
    checkpointKey: ${env:ATRIUM_TEST_SECRET}
`
	path := filepath.Join(dir, "app-config.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load([]string{path}, map[string]string{"ATRIUM_TEST_SECRET": secret})
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, app.Options{Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), Listener: ln})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done; a.Close() }()
	<-a.Ready()
	base := "http://" + a.Addr().String()

	var answers strings.Builder
	for _, r := range []struct{ method, path string }{
		{"GET", "/api/catalog/entities/by-name/component/default/" + secret},
		{"POST", "/api/nothing/" + secret},
		{"DELETE", "/api/catalog/locations/" + secret},
	} {
		req, _ := http.NewRequest(r.method, base+r.path, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		answers.Write(b)
	}
	var export bytes.Buffer
	if _, err := a.Audit().Export(ctx, audit.Query{}, 100, &export); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"logs": logs.String(), "answers": answers.String(), "audit log": export.String()} {
		if strings.Contains(out, secret) {
			t.Errorf("%s contain the secret:\n%s", name, out)
		}
		if !strings.Contains(out, "[REDACTED]") {
			t.Errorf("%s: no [REDACTED] mask, so the test did not exercise redaction:\n%s", name, out)
		}
	}
}

// testAuditPage checks the /settings/audit page through selectors: the
// table, the filter, the chart, and nothing that the CSP would block.
func testAuditPage(t *testing.T, base string) {
	t.Helper()
	page := func(query string, want int) *goquery.Document {
		t.Helper()
		res, err := http.Get(base + "/settings/audit?" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.StatusCode != want {
			b, _ := io.ReadAll(res.Body)
			t.Fatalf("GET /settings/audit?%s: %d %s", query, res.StatusCode, b)
		}
		doc, err := goquery.NewDocumentFromReader(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return doc
	}
	doc := page("", 200)
	if got := doc.Find("#audit-events tbody tr").Length(); got != 2 {
		t.Errorf("rows: got %d, want 2", got)
	}
	if got := doc.Find("#audit-events tbody tr[data-outcome=denied] code").First().Text(); got != "POST /api/catalog/refresh" {
		t.Errorf("denied row action: got %q", got)
	}
	if got := doc.Find("figure svg rect").Length(); got < 2 {
		t.Errorf("chart bars: got %d, want at least one per outcome seen", got)
	}
	if got, _ := doc.Find("figure svg[role=img]").Attr("aria-label"); got != "2 events in the last 24 hours" {
		t.Errorf("chart label: got %q", got)
	}
	if n := doc.Find("[style]").Length() + doc.Find("script:not([src])").Length(); n != 0 {
		t.Errorf("inline styles or scripts that the CSP blocks: %d", n)
	}
	if got := page("outcome=denied", 200).Find("#audit-events tbody tr").Length(); got != 1 {
		t.Errorf("filtered rows: got %d, want 1", got)
	}
	if got := page("outcome=bogus", 400).Find(".alert.error").Text(); !strings.Contains(got, "outcome must be") {
		t.Errorf("bad filter: got %q", got)
	}
}

// TestRateLimitInDatabase limits through buckets in the database (shared by
// replicas) on both engines: the third request in a minute is refused with
// Retry-After and Backstage's body.
func TestRateLimitInDatabase(t *testing.T) {
	for _, db := range apptest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			base := apptest.Start(t, db.YAML+"atrium:\n  rateLimit:\n    store: database\n    default: { perMinute: 1, burst: 2 }\n")
			var codes []int
			var last *http.Response
			var body []byte
			for i := 0; i < 3; i++ {
				res, err := http.Get(base + "/api/catalog/entities?limit=1")
				if err != nil {
					t.Fatal(err)
				}
				body, _ = io.ReadAll(res.Body)
				res.Body.Close()
				codes = append(codes, res.StatusCode)
				last = res
			}
			if codes[0] != 200 || codes[1] != 200 || codes[2] != 429 {
				t.Fatalf("statuses: got %v, want [200 200 429]", codes)
			}
			if ra := last.Header.Get("Retry-After"); ra == "" || ra == "0" {
				t.Errorf("Retry-After: got %q", ra)
			}
			if !strings.Contains(string(body), `"message":"Too many requests, please try again later"`) || !strings.Contains(string(body), `"statusCode":429`) {
				t.Errorf("body: got %s", body)
			}
			res, err := http.Get(base + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 200 {
				t.Errorf("health checks are not limited: got %d", res.StatusCode)
			}
		})
	}
}

// TestAuditAPIPermission: a service token without atrium.admin.audit.read
// is refused, and the refusal itself is audited.
func TestAuditAPIPermission(t *testing.T) {
	const token = "ci-token-0123456789abcdef"
	srv := apptest.StartServer(t, "backend:\n  auth:\n    externalAccess:\n      - type: static\n        options: { token: "+token+", subject: ci }\n")
	for _, path := range []string{"/api/audit/events", "/api/audit/export", "/settings/audit"} {
		req, _ := http.NewRequest("GET", srv.BaseURL+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 403 {
			t.Errorf("%s as service:ci: got %d, want 403", path, res.StatusCode)
		}
	}
	page, err := srv.App.Audit().List(context.Background(), audit.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 3 || page.Items[0].Outcome != audit.Denied || page.Items[0].Actor.Ref == audit.Anonymous {
		t.Errorf("denials recorded: got %+v, want 3 denied records naming the service", page.Items)
	}
}
