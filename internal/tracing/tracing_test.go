package tracing_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/internal/tracing"
	"github.com/atrium-portal/atrium/internal/tracing/tracingtest"
	"github.com/atrium-portal/atrium/internal/web"
)

// TestMiddleware: a request is one server span named by its route, with
// the request id; its log lines (the handler's and the access log's) carry
// the span's trace id; the spans reach an OTLP/HTTP receiver at /v1/traces.
func TestMiddleware(t *testing.T) {
	recv := tracingtest.NewReceiver(t)
	p, err := tracing.Start(context.Background(), tracing.Config{Endpoint: recv.URL, SampleRatio: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(context.Background())

	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	h := web.Chain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		web.Logger(r.Context()).Info("inside")
		_, span := tracing.StartSpan(r.Context(), "child")
		span.End()
		w.WriteHeader(http.StatusTeapot)
	}),
		web.WithRequestID(logger),
		p.Middleware(func(*http.Request) string { return "GET /things/{id}" }),
		web.AccessLog,
	)
	req := httptest.NewRequest("GET", "/things/7", nil)
	req.Header.Set(web.RequestIDHeader, "req-123")
	h.ServeHTTP(httptest.NewRecorder(), req)
	if err := p.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}

	spans := recv.Spans()
	if len(spans) != 2 {
		t.Fatalf("spans: got %d, want 2 (the request and its child)", len(spans))
	}
	var server, child = spans[0], spans[1]
	if server.Name != "GET /things/{id}" {
		server, child = child, server
	}
	if server.Name != "GET /things/{id}" || child.Name != "child" {
		t.Fatalf("span names: got %q and %q, want the route and child", server.Name, child.Name)
	}
	if got := tracingtest.Attr(server, "atrium.request_id"); got != "req-123" {
		t.Errorf("atrium.request_id: got %q, want req-123", got)
	}
	if !bytes.Equal(child.ParentSpanId, server.SpanId) {
		t.Error("the child span's parent is not the request span")
	}
	if got := recv.Paths(); len(got) == 0 || got[0] != "/v1/traces" {
		t.Errorf("export paths: got %q, want /v1/traces", got)
	}
	traceID := hex.EncodeToString(server.TraceId)
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("log lines: got %d, want 2: %s", len(lines), logs.String())
	}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		if m["trace_id"] != traceID || m["request_id"] != "req-123" {
			t.Errorf("log line %s: want trace_id %s and request_id req-123", l, traceID)
		}
	}
}

// TestSampleRatio: with a ratio of 0 no new trace is recorded, but a
// request continuing a sampled trace (traceparent) is.
func TestSampleRatio(t *testing.T) {
	recv := tracingtest.NewReceiver(t)
	p, err := tracing.Start(context.Background(), tracing.Config{Endpoint: recv.URL, SampleRatio: 0})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(context.Background())
	h := p.Middleware(func(*http.Request) string { return "GET /x" })(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/x", nil))
	req := httptest.NewRequest("GET", "/x", nil)
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	h.ServeHTTP(httptest.NewRecorder(), req)
	if err := p.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := recv.Spans()
	if len(spans) != 1 || hex.EncodeToString(spans[0].TraceId) != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("spans: got %d, want only the one continuing the sampled trace", len(spans))
	}
}

// TestOffCostsNothing: without a provider started, the spans of steps and
// plugin calls are OpenTelemetry's no-op spans: not recording, and no
// allocation per span.
func TestOffCostsNothing(t *testing.T) {
	ctx := context.Background()
	_, span := tracing.StartSpan(ctx, "scaffolder.step debug:log")
	if span.IsRecording() || span.SpanContext().IsValid() {
		t.Fatal("a span is recorded with tracing off")
	}
	allocs := testing.AllocsPerRun(100, func() {
		_, s := tracing.StartSpan(ctx, "plugin.action hello")
		tracing.End(s, nil)
	})
	if allocs != 0 {
		t.Errorf("a span with tracing off allocates %v times, want 0", allocs)
	}
}
