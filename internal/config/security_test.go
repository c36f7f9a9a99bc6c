package config

import (
	"strings"
	"testing"
	"time"
)

func TestSecuritySettings(t *testing.T) {
	yaml := `backend:
  cors:
    origin: [https://app.example.com, "https://*.example.org"]
    credentials: true
    methods: [GET, POST]
  https:
    certificate: { cert: /etc/atrium/tls.crt, key: /etc/atrium/tls.key }
  trustProxy: true
atrium:
  audit:
    retention: { days: 90 }
    readers: [group:default/security]
  rateLimit:
    store: redis
    redis: { url: "redis://127.0.0.1:6379/0" }
    default: { perMinute: 60, burst: 10 }
    budgets:
      - { name: search, perMinute: 6, routes: ["GET /api/catalog/entity-facets"] }
  secrets:
    keys:
      - { id: k1, key: AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8= }
`
	cfg, err := LoadBytes("app-config.yaml", []byte(yaml), nil)
	if err != nil {
		t.Fatalf("LoadBytes: %v", err)
	}
	s := cfg.Atrium.Security
	tests := []struct {
		name      string
		got, want any
	}{
		{"origins", strings.Join(cfg.Backend.CORS.Origins, " "), "https://app.example.com https://*.example.org"},
		{"credentials", cfg.Backend.CORS.Credentials, true},
		{"https", cfg.Backend.HTTPS.Enabled, true},
		{"cert", cfg.Backend.HTTPS.Cert, "/etc/atrium/tls.crt"},
		{"trustProxy true is one proxy", cfg.Backend.TrustProxy, 1},
		{"retention", s.Audit.Retention, 90 * 24 * time.Hour},
		{"readers", strings.Join(s.Audit.Readers, " "), "group:default/security"},
		{"store", s.RateLimit.Store, "redis"},
		{"default rate", s.RateLimit.Default.PerMinute, 60.0},
		{"budgets replaced", len(s.RateLimit.Budgets), 1},
		{"budget burst defaults to a tenth of a minute", s.RateLimit.Budgets[0].Burst, 1},
		{"key id", s.Secrets.Keys[0].ID, "k1"},
		{"key bytes", len(s.Secrets.Keys[0].Key), 32},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

func TestSecuritySettingsErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"origin with path", "backend:\n  cors:\n    origin: https://a.example.com/x\n", "app-config.yaml:3: backend.cors.origin[0]: must be an origin"},
		{"https without key", "backend:\n  https:\n    certificate: { cert: a.pem }\n", "backend.https.certificate: needs both cert and key"},
		{"short key", "atrium:\n  secrets:\n    keys: [{ id: a, key: c2hvcnQ= }]\n", "atrium.secrets.keys[0].key: must be 32 random bytes"},
		{"redis without url", "atrium:\n  rateLimit: { store: redis }\n", "atrium.rateLimit.redis.url: required"},
		{"trustProxy not a number", "backend:\n  trustProxy: loopback\n", "backend.trustProxy"},
		{"short retention", "atrium:\n  audit: { retention: { minutes: 5 } }\n", "atrium.audit.retention: must be at least one hour"},
		{"budget without routes", "atrium:\n  rateLimit:\n    budgets: [{ name: x, perMinute: 5 }]\n", "routes is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadBytes("app-config.yaml", []byte(tt.yaml), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "c2hvcnQ") {
				t.Errorf("the error echoes the key: %v", err)
			}
		})
	}
}
