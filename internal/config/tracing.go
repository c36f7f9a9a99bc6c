package config

import (
	"net/url"
	"strconv"
	"strings"
)

// The OTLP transports atrium.tracing.protocol accepts.
const (
	TracingHTTP = "http"
	TracingGRPC = "grpc"
)

// Tracing configures OpenTelemetry traces exported over OTLP
// (atrium.tracing). Without an Endpoint nothing is traced.
type Tracing struct {
	// Endpoint is the collector: a URL for http ("http://otel:4318", the
	// path /v1/traces is added when absent), host:port for grpc.
	Endpoint string
	// Protocol is TracingHTTP (default) or TracingGRPC.
	Protocol string
	// Insecure sends without TLS (always so for an http:// endpoint).
	Insecure bool
	// SampleRatio is the share of new traces recorded, 0 to 1 (default 1);
	// a request that arrives with a sampled parent is always recorded.
	SampleRatio float64
	// Headers are sent with every export (use secret references for
	// credentials: ${vault:…}, ${env:…}).
	Headers map[string]string
	// ServiceName is the service.name resource attribute (default atrium).
	ServiceName string
}

func tracingDefaults() Tracing {
	return Tracing{Protocol: TracingHTTP, SampleRatio: 1, ServiceName: "atrium"}
}

func (d *decoder) tracing(n *node, path string, t *Tracing) {
	d.fields(n, path, map[string]func(*node, string){
		"endpoint": func(v *node, p string) {
			d.str(v, p, &t.Endpoint)
			t.Endpoint = strings.TrimSpace(t.Endpoint)
		},
		"protocol":    func(v *node, p string) { d.oneOf(v, p, []string{TracingHTTP, TracingGRPC}, &t.Protocol) },
		"insecure":    func(v *node, p string) { d.boolean(v, p, &t.Insecure) },
		"serviceName": func(v *node, p string) { d.str(v, p, &t.ServiceName) },
		"sampleRatio": func(v *node, p string) {
			f, err := strconv.ParseFloat(strings.TrimSpace(v.text), 64)
			if v.kind != kindScalar || err != nil || f < 0 || f > 1 {
				d.fail(v, p, "must be a number between 0 and 1, got %s", describe(v))
				return
			}
			t.SampleRatio = f
		},
		"headers": func(v *node, p string) {
			if v.kind == kindNull {
				return
			}
			if v.kind != kindMap {
				d.fail(v, p, "must be an object of header names to values, got %s", describe(v))
				return
			}
			t.Headers = map[string]string{}
			for _, k := range v.keys {
				var s string
				d.str(v.values[k], join(p, k), &s)
				t.Headers[k] = s
			}
		},
	})
	if t.Endpoint == "" {
		return
	}
	if t.Protocol == TracingHTTP {
		u, err := url.Parse(t.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			d.probs = append(d.probs, Problem{File: n.file, Line: n.keyLine("endpoint"), Key: join(path, "endpoint"),
				Message: "must be an http:// or https:// URL for protocol http, got " + strconv.Quote(t.Endpoint)})
		}
		return
	}
	if strings.Contains(t.Endpoint, "://") || !strings.Contains(t.Endpoint, ":") {
		d.probs = append(d.probs, Problem{File: n.file, Line: n.keyLine("endpoint"), Key: join(path, "endpoint"),
			Message: "must be host:port for protocol grpc, got " + strconv.Quote(t.Endpoint)})
	}
}
