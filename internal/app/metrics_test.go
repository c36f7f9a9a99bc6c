package app_test

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/atrium-portal/atrium/internal/app"
	"github.com/atrium-portal/atrium/internal/app/apptest"
	"github.com/atrium-portal/atrium/internal/store/postgres"
)

// scrape reads /metrics from url with the bearer token (none: "") and
// parses the exposition.
func scrape(t *testing.T, url, token string) (int, map[string]*familyView) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		io.Copy(io.Discard, res.Body)
		return res.StatusCode, nil
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("content type: got %q, want the text format", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	out := map[string]*familyView{}
	for name, f := range fams {
		v := &familyView{}
		for _, m := range f.Metric {
			labels := map[string]string{}
			for _, l := range m.Label {
				labels[l.GetName()] = l.GetValue()
			}
			var val float64
			switch {
			case m.Gauge != nil:
				val = m.Gauge.GetValue()
			case m.Counter != nil:
				val = m.Counter.GetValue()
			case m.Histogram != nil:
				val = float64(m.Histogram.GetSampleCount())
			case m.Untyped != nil:
				val = m.Untyped.GetValue()
			}
			v.series = append(v.series, seriesView{labels, val})
		}
		out[name] = v
	}
	return 200, out
}

type seriesView struct {
	labels map[string]string
	value  float64
}

type familyView struct{ series []seriesView }

// find returns the value of the series whose labels include want.
func (f *familyView) find(want map[string]string) (float64, bool) {
	if f == nil {
		return 0, false
	}
	for _, s := range f.series {
		ok := true
		for k, v := range want {
			if s.labels[k] != v {
				ok = false
			}
		}
		if ok {
			return s.value, true
		}
	}
	return 0, false
}

// TestMetrics: after some requests, /metrics holds the catalog, HTTP (by
// route pattern, not path), database pool, job queue and backup series;
// it needs atrium.admin.operations.read.
func TestMetrics(t *testing.T) {
	for _, db := range apptest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) { testMetrics(t, db.YAML) })
	}
}

func testMetrics(t *testing.T, dbYAML string) {
	files := t.TempDir()
	apptest.WriteFilesTo(t, files, scaffolderFiles)
	const token = "ci-metrics-token-0123456789"
	// dbYAML, when not empty, opens the backend section.
	if dbYAML == "" {
		dbYAML = "backend:\n"
	}
	catalog := fmt.Sprintf(`catalog:
  rules: [{ allow: [Component, Group, User, Location, Template] }]
  locations: [{ type: file, target: %q }]
atrium:
  metrics: { refreshInterval: 50ms }
`, filepath.Join(files, "all.yaml"))
	srv := apptest.StartServer(t, catalog+dbYAML+`  auth:
    externalAccess:
      - type: static
        options: { token: `+token+`, subject: scraper }
`)
	c := sclient{t: t, base: srv.BaseURL}
	for i := 0; i < 3; i++ {
		c.json("GET", "/api/catalog/entities/by-name/group/default/platform", nil, 200, nil)
	}
	c.json("GET", "/api/catalog/entities/by-name/group/default/nobody", nil, 404, nil)
	var created struct{ ID string }
	c.json("POST", "/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/local", "values": map[string]any{"name": "m"}}, 201, &created)
	c.waitDone(created.ID)
	if _, err := srv.App.Backup(t.Context(), app.BackupOptions{To: t.TempDir(), Trigger: app.TriggerCLI}); err != nil {
		t.Fatal(err)
	}

	// A service without the permission is refused; the development user
	// (an admin in apptest) may scrape.
	if status, _ := scrape(t, srv.BaseURL+"/metrics", token); status != 403 {
		t.Errorf("/metrics as service:scraper: got %d, want 403", status)
	}
	// River marks a job completed shortly after the task's last event.
	var fams map[string]*familyView
	for deadline := time.Now().Add(time.Minute); ; {
		var status int
		status, fams = scrape(t, srv.BaseURL+"/metrics", "")
		if status != 200 {
			t.Fatalf("/metrics as an admin: got %d", status)
		}
		if _, ok := fams["atrium_jobs"].find(map[string]string{"queue": "scaffolder", "state": "completed"}); ok || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	checks := []struct {
		family string
		labels map[string]string
		min    float64
	}{
		{"atrium_http_request_duration_seconds", map[string]string{"route": "GET /api/catalog/entities/by-name/{kind}/{namespace}/{name}", "method": "GET", "code": "200"}, 3},
		{"atrium_http_request_duration_seconds", map[string]string{"route": "GET /api/catalog/entities/by-name/{kind}/{namespace}/{name}", "code": "404"}, 1},
		{"atrium_http_request_duration_seconds", map[string]string{"route": "GET /metrics", "code": "403"}, 1},
		{"atrium_catalog_entities", map[string]string{"kind": "template"}, 3},
		{"atrium_catalog_entities", map[string]string{"kind": "group"}, 1},
		{"atrium_catalog_relations", nil, 1},
		{"atrium_catalog_entities_with_errors", nil, 0},
		{"atrium_catalog_files_parsed_total", nil, 1},
		{"atrium_catalog_processing_passes_total", nil, 1},
		{"atrium_catalog_processing_pass_errors_total", nil, 0},
		{"atrium_catalog_processing_last_pass_seconds", nil, 0},
		{"atrium_catalog_processing_last_pass_timestamp_seconds", nil, 1e9},
		{"atrium_catalog_changes_total", map[string]string{"change": "upsert"}, 1},
		{"atrium_catalog_reads_total", map[string]string{"type": "file", "outcome": "ok"}, 5},
		{"atrium_catalog_read_duration_seconds", map[string]string{"type": "file"}, 5},
		{"atrium_catalog_last_read_timestamp_seconds", nil, 1e9},
		{"atrium_db_connections_max", nil, 1},
		{"atrium_db_connections", map[string]string{"state": "idle"}, 0},
		{"atrium_backup_last_success_timestamp_seconds", nil, 1e9},
		{"atrium_backup_last_size_bytes", nil, 1},
		{"atrium_build_info", map[string]string{"version": "devel"}, 1},
		{"atrium_jobs", map[string]string{"queue": "scaffolder", "state": "completed"}, 1},
		{"atrium_jobs_recent_run_seconds_avg", map[string]string{"queue": "scaffolder"}, 0},
		{"go_goroutines", nil, 1},
	}
	for _, ch := range checks {
		v, ok := fams[ch.family].find(ch.labels)
		if !ok {
			t.Errorf("%s%v: missing", ch.family, ch.labels)
			continue
		}
		if v < ch.min {
			t.Errorf("%s%v: got %v, want at least %v", ch.family, ch.labels, v, ch.min)
		}
	}
	if strings.Contains(dbYAML, "client: pg") {
		// The lookups' connections are reported as a pool of their own,
		// and the two bounds add up to backend.database.pool.max.
		lookups, ok1 := fams["atrium_db_connections_max"].find(map[string]string{"pool": "postgres_lookup"})
		main, ok2 := fams["atrium_db_connections_max"].find(map[string]string{"pool": "postgres"})
		if !ok1 || !ok2 || lookups < 1 || lookups+main != float64(postgres.DefaultMaxConns()) {
			t.Errorf("pool bounds: postgres_lookup %v (%v), postgres %v (%v), want two that add up to %d", lookups, ok1, main, ok2, postgres.DefaultMaxConns())
		}
	}
	// Raw paths never become labels.
	for _, s := range fams["atrium_http_request_duration_seconds"].series {
		if strings.Contains(s.labels["route"], "platform") || strings.Contains(s.labels["route"], "nobody") {
			t.Errorf("a raw path became a route label: %v", s.labels)
		}
	}
}

// TestMetricsListen: atrium.metrics.listen serves /metrics on its own
// address without credentials, and the main server no longer does.
func TestMetricsListen(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	srv := apptest.StartServer(t, "catalog:\n  locations: [{ type: file, target: '"+missing+"' }]\n"+
		"atrium:\n  metrics: { listen: '127.0.0.1:0' }\n  rateLimit:\n    default: { perMinute: 1, burst: 2 }\n")
	if status, _ := scrape(t, srv.BaseURL+"/metrics", ""); status != 404 {
		t.Errorf("main server /metrics with a separate listener: got %d, want 404", status)
	}
	// Past the burst, requests are refused with 429.
	refused := 0
	for i := 0; i < 3; i++ {
		res, err := http.Get(srv.BaseURL + "/api/catalog/entities?limit=1")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode == http.StatusTooManyRequests {
			refused++
		}
	}
	if refused == 0 {
		t.Fatal("no request was rate limited")
	}
	addr := srv.App.MetricsAddr()
	if addr == nil {
		t.Fatal("no metrics listener")
	}
	status, fams := scrape(t, fmt.Sprintf("http://%s/metrics", addr), "")
	if status != 200 {
		t.Fatalf("separate /metrics: got %d", status)
	}
	if _, ok := fams["atrium_catalog_relations"]; !ok {
		t.Error("separate /metrics lacks atrium_catalog_relations")
	}
	if v, ok := fams["atrium_catalog_reads_total"].find(map[string]string{"type": "file", "outcome": "error"}); !ok || v < 1 {
		t.Errorf("atrium_catalog_reads_total{type=file,outcome=error} for a missing file: got %v %v", v, ok)
	}
	if v, ok := fams["atrium_http_rate_limited_total"].find(map[string]string{"route": "GET /api/catalog/entities"}); !ok || v != float64(refused) {
		t.Errorf("atrium_http_rate_limited_total{route=GET /api/catalog/entities}: got %v %v, want %d", v, ok, refused)
	}
}

// TestMetricsPolicy: a policy rule lets a scraper's service token read
// /metrics, as docs/operations.md shows.
func TestMetricsPolicy(t *testing.T) {
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.yaml")
	apptest.WriteFilesTo(t, dir, map[string]string{"policy.yaml": `rules:
  - name: prometheus-scrapes
    effect: allow
    permissions: [atrium.admin.operations.read]
    subjects: ["service:prometheus"]
`})
	const token = "prometheus-token-0123456789abcdef"
	srv := apptest.StartServer(t, fmt.Sprintf(`backend:
  auth:
    externalAccess:
      - type: static
        options: { token: %s, subject: prometheus }
atrium:
  authz: { policies: [%q] }
`, token, policy))
	status, fams := scrape(t, srv.BaseURL+"/metrics", token)
	if status != 200 {
		t.Fatalf("/metrics as service:prometheus: got %d, want 200", status)
	}
	if _, ok := fams["atrium_catalog_relations"]; !ok {
		t.Error("/metrics lacks atrium_catalog_relations")
	}
}
