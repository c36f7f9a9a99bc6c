package tracing

import (
	"net/http"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/atrium-portal/atrium/internal/web"
)

// Middleware traces each request in a server span named by its route
// pattern ("POST /api/catalog/locations"), continuing a trace the caller
// sent in traceparent, and adds trace_id and span_id to the request's log
// lines (web.Logger), so that a log line leads to its trace. route names a
// request's pattern; "" (no route) names the span by method alone.
func (p *Provider) Middleware(route func(*http.Request) string) web.Middleware {
	tr := p.Tracer()
	prop := otel.GetTextMapPropagator()
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
			pattern := route(r)
			name := pattern
			if name == "" || name == "/" {
				name = r.Method
			}
			ctx, span := tr.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
				attribute.String("http.request.method", r.Method),
				attribute.String("http.route", pattern),
				attribute.String("url.path", r.URL.Path),
				attribute.String("atrium.request_id", web.RequestID(r.Context())),
			))
			defer span.End()
			if sc := span.SpanContext(); sc.IsValid() {
				ctx = web.ContextWithLogger(ctx, web.Logger(ctx).With("trace_id", sc.TraceID().String(), "span_id", sc.SpanID().String()))
			}
			rec := &statusWriter{ResponseWriter: w}
			next.ServeHTTP(rec, r.WithContext(ctx))
			status := rec.status
			if status == 0 {
				status = http.StatusOK
			}
			span.SetAttributes(attribute.Int("http.response.status_code", status))
			if status >= 500 {
				span.SetStatus(codes.Error, http.StatusText(status))
			}
		})
	}
}

// statusWriter remembers the status; it unwraps so that flushing works.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Flush sends buffered data (server-sent events, streamed lists).
func (s *statusWriter) Flush() {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	_ = http.NewResponseController(s.ResponseWriter).Flush()
}
