package metrics

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// value collects c, which must yield one gauge, and returns it.
func value(t *testing.T, c prometheus.Collector) float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 10)
	c.Collect(ch)
	close(ch)
	var out []float64
	for m := range ch {
		var pb dto.Metric
		if err := m.Write(&pb); err != nil {
			t.Fatal(err)
		}
		out = append(out, pb.GetGauge().GetValue())
	}
	if len(out) != 1 {
		t.Fatalf("collected %d metrics, want 1", len(out))
	}
	return out[0]
}

// TestCached: values are computed at most once per TTL, and a failing
// refresh keeps the last good values.
func TestCached(t *testing.T) {
	desc := prometheus.NewDesc("test_value", "A test value.", nil, nil)
	calls := 0
	fail := false
	c := NewCached([]*prometheus.Desc{desc}, 50*time.Millisecond, time.Second, slog.New(slog.NewTextHandler(io.Discard, nil)),
		func(ctx context.Context) ([]prometheus.Metric, error) {
			calls++
			if fail {
				return nil, errors.New("database down")
			}
			return []prometheus.Metric{prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, float64(calls))}, nil
		})
	if got := value(t, c); got != 1 {
		t.Errorf("first scrape: got %v, want 1", got)
	}
	if got := value(t, c); got != 1 || calls != 1 {
		t.Errorf("scrape within the TTL: got %v after %d calls, want 1 after 1", got, calls)
	}
	time.Sleep(60 * time.Millisecond)
	fail = true
	if got := value(t, c); got != 1 || calls != 2 {
		t.Errorf("scrape after a failed refresh: got %v after %d calls, want the last good 1 after 2", got, calls)
	}
}

// TestRegistry: the handler serves the text format with the HTTP series
// by route, 429s counted, unknown methods folded, and a clashing collector
// refused.
func TestRegistry(t *testing.T) {
	r := New()
	r.ObserveRequest("GET /api/things/{id}", "GET", 200, 20*time.Millisecond)
	r.ObserveRequest("GET /api/things/{id}", "GET", 429, time.Millisecond)
	r.ObserveRequest("/", "BREW", 404, time.Millisecond)
	// The same series again, through the remembered observers.
	r.ObserveRequest("GET /api/things/{id}", "GET", 200, 30*time.Millisecond)
	r.ObserveRequest("/", "PURGE", 404, time.Millisecond)
	if err := r.Register(prometheus.NewGauge(prometheus.GaugeOpts{Name: "atrium_http_rate_limited_total", Help: "clash"})); err == nil {
		t.Error("a clashing collector was registered")
	}
	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status: got %d", rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []string{
		`atrium_http_request_duration_seconds_count{code="200",method="GET",route="GET /api/things/{id}"} 2`,
		`atrium_http_request_duration_seconds_sum{code="200",method="GET",route="GET /api/things/{id}"} 0.05`,
		`atrium_http_request_duration_seconds_count{code="429",method="GET",route="GET /api/things/{id}"} 1`,
		`atrium_http_rate_limited_total{route="GET /api/things/{id}"} 1`,
		`atrium_http_request_duration_seconds_count{code="404",method="OTHER",route="/"} 2`,
		"go_goroutines ",
		"process_resident_memory_bytes ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
