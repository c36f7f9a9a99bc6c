// Package tracing exports OpenTelemetry traces over OTLP (HTTP or gRPC)
// when atrium.tracing names a collector: spans for HTTP requests (named by
// route pattern), for the catalog's store calls, for scaffolder steps and
// for plugin calls. Without a collector nothing is installed: requests and
// store calls take no extra step at all, and the spans started through the
// global provider (steps, plugin calls) are OpenTelemetry's no-op spans.
package tracing

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Name is the instrumentation scope of Atrium's spans.
const Name = "github.com/atrium-portal/atrium"

// Config is what the exporter needs (from atrium.tracing).
type Config struct {
	// Endpoint: a URL for "http", host:port for "grpc".
	Endpoint string
	// Protocol is "http" (default) or "grpc".
	Protocol string
	// Insecure sends gRPC without TLS (an http:// URL is always plain).
	Insecure bool
	// SampleRatio is the share of new traces kept, 0 to 1.
	SampleRatio float64
	// Headers go with every export.
	Headers map[string]string
	// ServiceName is the service.name resource attribute.
	ServiceName string
	// Version is the service.version resource attribute.
	Version string
}

// Provider owns the exporter and the tracer of one process.
type Provider struct {
	tp   *sdktrace.TracerProvider
	prev trace.TracerProvider
}

// Start builds the exporter and installs the provider as OpenTelemetry's
// global one (so packages that trace through otel.Tracer use it) and the
// W3C trace-context propagator. Shutdown flushes and restores the previous
// global provider.
func Start(ctx context.Context, c Config) (*Provider, error) {
	exp, err := exporter(ctx, c)
	if err != nil {
		return nil, err
	}
	name := c.ServiceName
	if name == "" {
		name = "atrium"
	}
	res := resource.NewSchemaless(
		attribute.String("service.name", name),
		attribute.String("service.version", c.Version),
	)
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(c.SampleRatio))),
	)
	p := &Provider{tp: tp, prev: otel.GetTracerProvider()}
	otel.SetTracerProvider(tp)
	started.Store(true)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	return p, nil
}

func exporter(ctx context.Context, c Config) (sdktrace.SpanExporter, error) {
	switch c.Protocol {
	case "", "http":
		u, err := url.Parse(c.Endpoint)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("atrium.tracing.endpoint %q: not a URL", c.Endpoint)
		}
		opts := []otlptracehttp.Option{otlptracehttp.WithEndpoint(u.Host), otlptracehttp.WithHeaders(c.Headers)}
		if u.Scheme == "http" {
			opts = append(opts, otlptracehttp.WithInsecure())
		}
		path := strings.TrimSuffix(u.Path, "/")
		if !strings.HasSuffix(path, "/v1/traces") {
			path += "/v1/traces"
		}
		opts = append(opts, otlptracehttp.WithURLPath(path))
		exp, err := otlptracehttp.New(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("atrium.tracing: %w", err)
		}
		return exp, nil
	case "grpc":
		opts := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(c.Endpoint), otlptracegrpc.WithHeaders(c.Headers)}
		if c.Insecure {
			opts = append(opts, otlptracegrpc.WithInsecure())
		}
		exp, err := otlptracegrpc.New(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("atrium.tracing: %w", err)
		}
		return exp, nil
	}
	return nil, fmt.Errorf("atrium.tracing.protocol: must be http or grpc, got %q", c.Protocol)
}

// Tracer returns the tracer of Atrium's spans.
func (p *Provider) Tracer() trace.Tracer { return p.tp.Tracer(Name) }

// Flush exports the finished spans now.
func (p *Provider) Flush(ctx context.Context) error { return p.tp.ForceFlush(ctx) }

// Shutdown exports what is left and stops the exporter.
func (p *Provider) Shutdown(ctx context.Context) error {
	if otel.GetTracerProvider() == p.tp {
		otel.SetTracerProvider(p.prev)
		started.Store(false)
	}
	return p.tp.Shutdown(ctx)
}

// StartSpan begins a span through the global provider: a no-op span unless
// tracing is configured. For code that has no Provider at hand (scaffolder
// steps, plugin calls).
func StartSpan(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	if !started.Load() {
		return ctx, noop.Span{}
	}
	return otel.Tracer(Name).Start(ctx, name, trace.WithAttributes(attrs...))
}

// started is whether a Provider is installed as the global one.
var started atomic.Bool

// End ends span, recording err as its status when not nil.
func End(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
