package config

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// CORS is backend.cors (Backstage's shape). Without origins no cross-origin
// caller is allowed.
type CORS struct {
	Origins        []string
	Methods        []string
	AllowedHeaders []string
	ExposedHeaders []string
	Credentials    bool
	MaxAge         int
}

// HTTPS is backend.https: TLS serving with a certificate and key, each
// given as PEM text or as the path of a PEM file.
type HTTPS struct {
	Enabled bool
	Cert    string
	Key     string
}

// Security holds Atrium's own security settings (atrium.audit,
// atrium.rateLimit, atrium.secrets).
type Security struct {
	Audit     AuditSettings
	RateLimit RateLimitSettings
	Secrets   SecretsSettings
}

// AuditSettings is atrium.audit.
type AuditSettings struct {
	// Retention is how long records are kept (0: forever).
	Retention time.Duration
	// PruneInterval is how often retention runs (default one hour).
	PruneInterval time.Duration
	// CheckpointKey signs prune checkpoints (an HMAC key; a secret reference
	// such as ${env:AUDIT_KEY} belongs here).
	CheckpointKey string
	// Readers are principal or group refs allowed to read the audit log
	// until policies grant atrium.admin.audit.read.
	Readers []string
	// MaxExportRecords bounds one export (default 1 000 000).
	MaxExportRecords int
}

// RateLimitSettings is atrium.rateLimit.
type RateLimitSettings struct {
	Enabled bool
	// Store is memory (one replica), redis or database (shared by replicas).
	Store    string
	RedisURL string
	Default  RateBudget
	Budgets  []RateBudget
}

// RateBudget is one token bucket.
type RateBudget struct {
	Name      string
	PerMinute float64
	Burst     int
	Routes    []string
	Query     string
}

// SecretsSettings is atrium.secrets.
type SecretsSettings struct {
	// Keys encrypt stored secrets: the last one listed encrypts, all decrypt.
	Keys []SecretKey
	// RefreshInterval re-resolves ${vault:…} and ${file:…} references
	// (0: only at start).
	RefreshInterval time.Duration
	// GitCheck warns at start about literal credentials in configuration
	// files tracked by git (default true).
	GitCheck bool
}

// SecretKey is one AES-256 key, base64-encoded in configuration.
type SecretKey struct {
	ID  string
	Key []byte
}

func defaultSecurity() Security {
	return Security{
		Audit: AuditSettings{PruneInterval: time.Hour, MaxExportRecords: 1_000_000},
		RateLimit: RateLimitSettings{
			Enabled: true,
			Store:   "memory",
			Default: RateBudget{Name: "default", PerMinute: 1200, Burst: 200},
			Budgets: []RateBudget{
				{Name: "search", PerMinute: 120, Burst: 30, Routes: []string{
					"GET /api/catalog/entity-facets", "POST /api/catalog/entity-facets",
					"GET /api/search/query",
				}},
				{Name: "search", PerMinute: 120, Burst: 30, Query: "fullTextFilterTerm", Routes: []string{
					"GET /api/catalog/entities/by-query",
				}},
				{Name: "locations", PerMinute: 30, Burst: 10, Routes: []string{
					"POST /api/catalog/locations", "POST /api/catalog/analyze-location",
				}},
				{Name: "templates", PerMinute: 30, Burst: 10, Routes: []string{
					"POST /api/scaffolder/v2/tasks", "POST /api/scaffolder/v2/dry-run",
				}},
			},
		},
		Secrets: SecretsSettings{GitCheck: true},
	}
}

func (d *decoder) cors(n *node, path string, c *CORS) {
	d.fields(n, path, map[string]func(*node, string){
		"origin": func(v *node, p string) {
			d.stringOrList(v, p, &c.Origins)
			for i, o := range c.Origins {
				if o == "*" {
					continue
				}
				if u, err := url.Parse(strings.ReplaceAll(o, "*", "x")); err != nil || u.Scheme == "" || u.Host == "" || (u.Path != "" && u.Path != "/") {
					d.fail(v, fmt.Sprintf("%s[%d]", p, i), "must be an origin such as https://portal.example.com (scheme and host, no path), got %q", o)
				}
				c.Origins[i] = strings.TrimRight(o, "/")
			}
		},
		"methods":        func(v *node, p string) { d.stringOrList(v, p, &c.Methods) },
		"allowedHeaders": func(v *node, p string) { d.stringOrList(v, p, &c.AllowedHeaders) },
		"exposedHeaders": func(v *node, p string) { d.stringOrList(v, p, &c.ExposedHeaders) },
		"credentials":    func(v *node, p string) { d.boolean(v, p, &c.Credentials) },
		"maxAge":         func(v *node, p string) { d.integer(v, p, 0, 86400, &c.MaxAge) },
	}, "optionsSuccessStatus", "preflightContinue")
}

func (d *decoder) https(n *node, path string, h *HTTPS) {
	if n.kind == kindScalar {
		var on bool
		d.boolean(n, path, &on)
		if on {
			d.fail(n, path, "Atrium does not make self-signed certificates: give certificate.cert and certificate.key")
		}
		return
	}
	d.fields(n, path, map[string]func(*node, string){
		"certificate": func(v *node, p string) {
			d.fields(v, p, map[string]func(*node, string){
				"cert": func(x *node, q string) { d.str(x, q, &h.Cert) },
				"key":  func(x *node, q string) { d.str(x, q, &h.Key) },
			})
			if h.Cert == "" || h.Key == "" {
				d.fail(v, p, "needs both cert and key (PEM text or file paths)")
			}
			h.Enabled = true
		},
	})
}

func (d *decoder) auditSettings(n *node, path string, a *AuditSettings) {
	d.fields(n, path, map[string]func(*node, string){
		"retention":        func(v *node, p string) { d.duration(v, p, &a.Retention) },
		"pruneInterval":    func(v *node, p string) { d.positiveDuration(v, p, &a.PruneInterval) },
		"checkpointKey":    func(v *node, p string) { d.str(v, p, &a.CheckpointKey) },
		"readers":          func(v *node, p string) { d.strings(v, p, &a.Readers) },
		"maxExportRecords": func(v *node, p string) { d.integer(v, p, 1, 1_000_000_000, &a.MaxExportRecords) },
	})
	if a.Retention != 0 && a.Retention < time.Hour {
		d.fail(n, path+".retention", "must be at least one hour (or 0 to keep everything)")
	}
}

func (d *decoder) rateLimit(n *node, path string, r *RateLimitSettings) {
	d.fields(n, path, map[string]func(*node, string){
		"enabled": func(v *node, p string) { d.boolean(v, p, &r.Enabled) },
		"store":   func(v *node, p string) { d.oneOf(v, p, []string{"memory", "redis", "database"}, &r.Store) },
		"redis": func(v *node, p string) {
			d.fields(v, p, map[string]func(*node, string){
				"url": func(x *node, q string) { d.str(x, q, &r.RedisURL) },
			})
		},
		"default": func(v *node, p string) { r.Default = d.rateBudget(v, p, "default", false) },
		"budgets": func(v *node, p string) {
			r.Budgets = []RateBudget{}
			d.list(v, p, func(item *node, ip string) { r.Budgets = append(r.Budgets, d.rateBudget(item, ip, "", true)) })
		},
	})
	if r.Enabled && r.Store == "redis" && r.RedisURL == "" {
		d.fail(n, path+".redis.url", "required when store is redis")
	}
}

func (d *decoder) rateBudget(n *node, path, name string, needRoutes bool) RateBudget {
	b := RateBudget{Name: name}
	d.fields(n, path, map[string]func(*node, string){
		"name": func(v *node, p string) { d.str(v, p, &b.Name) },
		"perMinute": func(v *node, p string) {
			var i int
			d.integer(v, p, 1, 10_000_000, &i)
			b.PerMinute = float64(i)
		},
		"burst":  func(v *node, p string) { d.integer(v, p, 1, 10_000_000, &b.Burst) },
		"routes": func(v *node, p string) { d.strings(v, p, &b.Routes) },
		"query":  func(v *node, p string) { d.str(v, p, &b.Query) },
	})
	if n.kind != kindMap {
		return b
	}
	if b.PerMinute == 0 {
		d.fail(n, path, "perMinute is required")
	}
	if b.Burst == 0 {
		b.Burst = max(1, int(b.PerMinute/6))
	}
	if needRoutes && len(b.Routes) == 0 {
		d.fail(n, path, "routes is required (route patterns such as \"POST /api/catalog/locations\")")
	}
	if needRoutes && b.Name == "" {
		d.fail(n, path, "name is required")
	}
	return b
}

func (d *decoder) secrets(n *node, path string, s *SecretsSettings) {
	d.fields(n, path, map[string]func(*node, string){
		"keys": func(v *node, p string) {
			s.Keys = nil
			seen := map[string]bool{}
			d.list(v, p, func(item *node, ip string) {
				var k SecretKey
				var enc string
				d.fields(item, ip, map[string]func(*node, string){
					"id":  func(x *node, q string) { d.str(x, q, &k.ID) },
					"key": func(x *node, q string) { d.str(x, q, &enc) },
				})
				if item.kind != kindMap {
					return
				}
				if k.ID == "" {
					d.fail(item, ip, "id is required")
				} else if seen[k.ID] {
					d.fail(item, ip+".id", "duplicate key id %q", k.ID)
				}
				seen[k.ID] = true
				raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
				if err != nil || len(raw) != 32 {
					// Never echo the value: it is a key.
					d.fail(item, ip+".key", "must be 32 random bytes, base64-encoded (openssl rand -base64 32)")
				}
				k.Key = raw
				s.Keys = append(s.Keys, k)
			})
		},
		"refreshInterval": func(v *node, p string) { d.duration(v, p, &s.RefreshInterval) },
		"gitCheck":        func(v *node, p string) { d.boolean(v, p, &s.GitCheck) },
	})
}

// trustProxy reads backend.trustProxy: false, true (one proxy) or a number
// of proxies. Backstage passes it to Express; Atrium reads only these forms.
func (d *decoder) trustProxy(n *node, path string, out *int) {
	if n.kind == kindScalar {
		switch strings.ToLower(strings.TrimSpace(n.text)) {
		case "true":
			*out = 1
			return
		case "false":
			*out = 0
			return
		}
	}
	d.integer(n, path, 0, 10, out)
}
