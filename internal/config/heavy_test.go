package config

import (
	"reflect"
	"testing"
	"time"
)

func TestHeavyAndTracingKeys(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		check   func(t *testing.T, c *Config)
		wantErr string
	}{
		{"defaults", "{}", func(t *testing.T, c *Config) {
			if got := c.Atrium.Limits.Heavy; !reflect.DeepEqual(got, heavyDefaults()) {
				t.Errorf("heavy: got %+v, want the defaults", got)
			}
			if c.Atrium.Limits.MaxEntities != 1_000_000 {
				t.Errorf("maxEntities: got %d", c.Atrium.Limits.MaxEntities)
			}
			if c.Atrium.Tracing.Endpoint != "" || c.Atrium.Tracing.SampleRatio != 1 {
				t.Errorf("tracing: got %+v, want off with ratio 1", c.Atrium.Tracing)
			}
		}, ""},
		{"one kind set, the others kept", "atrium:\n  limits:\n    maxEntities: 0\n    heavy:\n      ingestion: { concurrency: 1, queue: 0 }\n", func(t *testing.T, c *Config) {
			want := heavyDefaults()
			want[HeavyIngestion] = Heavy{Concurrency: 1, Queue: 0, MaxWait: 30 * time.Second}
			if got := c.Atrium.Limits.Heavy; !reflect.DeepEqual(got, want) {
				t.Errorf("heavy: got %+v, want %+v", got, want)
			}
			if c.Atrium.Limits.MaxEntities != 0 {
				t.Errorf("maxEntities: got %d, want 0 (no limit)", c.Atrium.Limits.MaxEntities)
			}
		}, ""},
		{"tracing", "atrium:\n  tracing:\n    endpoint: otel:4317\n    protocol: grpc\n    sampleRatio: 0.25\n    headers: { x-token: abc }\n", func(t *testing.T, c *Config) {
			tr := c.Atrium.Tracing
			if tr.Endpoint != "otel:4317" || tr.Protocol != TracingGRPC || tr.SampleRatio != 0.25 || tr.Headers["x-token"] != "abc" {
				t.Errorf("tracing: got %+v", tr)
			}
		}, ""},
		{"unknown kind", "atrium:\n  limits:\n    heavy:\n      ingest: { concurrency: 1 }\n", nil, "atrium.limits.heavy.ingest: unknown kind of heavy operation; the kinds are ingestion, tasks, techdocs, backup"},
		{"zero concurrency", "atrium:\n  limits:\n    heavy:\n      tasks: { concurrency: 0 }\n", nil, "test:4: atrium.limits.heavy.tasks.concurrency: must be between 1 and 10000, got 0"},
		{"negative wait", "atrium:\n  limits:\n    heavy:\n      techdocs: { maxWait: -1s }\n", nil, "atrium.limits.heavy.techdocs.maxWait: must not be negative"},
		{"negative max entities", "atrium:\n  limits:\n    maxEntities: -5\n", nil, "atrium.limits.maxEntities: must be between 0"},
		{"bad protocol", "atrium:\n  tracing:\n    endpoint: http://otel:4318\n    protocol: udp\n", nil, "atrium.tracing.protocol"},
		{"bad ratio", "atrium:\n  tracing:\n    sampleRatio: 2\n", nil, `atrium.tracing.sampleRatio: must be a number between 0 and 1, got "2"`},
		{"http endpoint not a URL", "atrium:\n  tracing:\n    endpoint: otel:4318\n", nil, "atrium.tracing.endpoint: must be an http:// or https:// URL for protocol http"},
		{"grpc endpoint a URL", "atrium:\n  tracing:\n    endpoint: http://otel:4317\n    protocol: grpc\n", nil, "atrium.tracing.endpoint: must be host:port for protocol grpc"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := loadCase(t, tc.yaml, tc.wantErr)
			if cfg == nil {
				return
			}
			tc.check(t, cfg)
		})
	}
}
