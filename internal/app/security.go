package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/atrium-portal/atrium/internal/audit"
	"github.com/atrium-portal/atrium/internal/auth"
	"github.com/atrium-portal/atrium/internal/authz"
	"github.com/atrium-portal/atrium/internal/config"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/secrets"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/web"
	"github.com/atrium-portal/atrium/internal/web/ui"
)

// security builds the web security middleware (headers, CORS, rate limits,
// CSRF), the audit log with its API and retention loop, and the secret
// refresh loop.
func (a *App) security() (web.Security, *audit.API, error) {
	cfg := a.cfg
	s := cfg.Atrium.Security
	api := &audit.API{
		Log:        a.audit,
		Authorizer: auditAuthorizer{readers: audit.ReadersAuthorizer{Readers: s.Audit.Readers}, az: a.authz},
		MaxExport:  s.Audit.MaxExportRecords,
	}
	if s.Audit.Retention > 0 {
		a.background = append(a.background, func(ctx context.Context) error {
			a.audit.RunRetention(ctx, s.Audit.Retention, s.Audit.PruneInterval)
			return nil
		})
	}
	if a.refresher != nil && s.Secrets.RefreshInterval > 0 {
		a.background = append(a.background, func(ctx context.Context) error {
			a.refresher.Run(ctx, s.Secrets.RefreshInterval)
			return nil
		})
	}

	tlsOn := cfg.Backend.HTTPS.Enabled || strings.HasPrefix(cfg.Backend.BaseURL, "https://")
	sec := web.Security{
		Headers: web.HeadersConfig{TLS: tlsOn},
		CORS: web.CORSConfig{
			Origins: cfg.Backend.CORS.Origins, Methods: cfg.Backend.CORS.Methods,
			AllowedHeaders: cfg.Backend.CORS.AllowedHeaders, ExposedHeaders: cfg.Backend.CORS.ExposedHeaders,
			Credentials: cfg.Backend.CORS.Credentials, MaxAge: cfg.Backend.CORS.MaxAge,
		},
		CSRF: web.CSRFConfig{
			Key:     a.csrfKey(),
			TLS:     tlsOn,
			Binding: func(r *http.Request) string { return sessionOf(r) },
			Origin:  originOf(cfg.Backend.BaseURL),
		},
		Audit:          a.audit.Middleware,
		AuditPrincipal: audit.CapturePrincipal,
		Redact:         a.secrets.Redact,
		TrustProxy:     cfg.Backend.TrustProxy,
	}
	rl := s.RateLimit
	if rl.Enabled {
		var lim web.Limiter = &web.MemoryLimiter{}
		if rl.Store == "redis" {
			opts, err := redis.ParseURL(rl.RedisURL)
			if err != nil {
				return sec, nil, fmt.Errorf("atrium.rateLimit.redis.url is not a redis:// URL")
			}
			client := redis.NewClient(opts)
			a.cleanup = append(a.cleanup, client.Close)
			lim = &web.RedisLimiter{Client: client}
		}
		if rl.Store == "database" {
			lim = storeLimiter{a.store}
			a.background = append(a.background, func(ctx context.Context) error {
				t := time.NewTicker(time.Hour)
				defer t.Stop()
				for {
					select {
					case <-ctx.Done():
						return nil
					case <-t.C:
						// A bucket idle for a day is full again: the row adds nothing.
						if _, err := a.store.RatePrune(ctx, time.Now().Add(-24*time.Hour)); err != nil && ctx.Err() == nil {
							a.log.Warn("pruning rate limit buckets", "error", err.Error())
						}
					}
				}
			})
		}
		sec.RateLimit = web.RateLimitConfig{
			Limiter:   lim,
			Default:   budget(rl.Default),
			Principal: principalRef,
			Exempt:    web.HealthRoutes,
		}
		for _, b := range rl.Budgets {
			sec.RateLimit.Budgets = append(sec.RateLimit.Budgets, web.RouteBudget{Budget: budget(b), Routes: b.Routes, Query: b.Query})
		}
	}
	return sec, api, nil
}

// auditAuthorizer lets the readers of atrium.audit.readers in, and asks
// the policy (atrium.admin.audit.read) about everyone else.
type auditAuthorizer struct {
	readers audit.ReadersAuthorizer
	az      *authz.Authorizer
}

func (x auditAuthorizer) Authorize(ctx context.Context, perm string) (bool, error) {
	if ok, err := x.readers.Authorize(ctx, perm); ok || err != nil || x.az == nil {
		return ok, err
	}
	d, err := x.az.Authorize(ctx, auth.PrincipalFrom(ctx), perm, nil)
	if err != nil {
		return false, err
	}
	return d.Result == authz.Allow, nil
}

// storeLimiter keeps rate limit buckets in the database (shared by the
// replicas using it).
type storeLimiter struct{ s store.RateLimitStore }

func (l storeLimiter) Take(ctx context.Context, key string, b web.Budget) (bool, time.Duration, error) {
	return l.s.RateTake(ctx, key, b.Rate, b.Burst)
}

func budget(b config.RateBudget) web.Budget {
	return web.Budget{Name: b.Name, Rate: b.PerMinute / 60, Burst: b.Burst}
}

// initSecrets registers the configuration's secret values for redaction,
// wraps the logger so that no log line carries them, and warns about
// literal credentials in configuration files tracked by git.
func (a *App) initSecrets(ctx context.Context) {
	a.secrets = &secrets.Registry{}
	a.secrets.Add(a.cfg.SecretValues()...)
	a.log = slog.New(a.secrets.Handler(a.log.Handler()))
	for _, r := range a.cfg.SecretRefs {
		if r.Kind == "vault" && a.vault == nil {
			if v, err := secrets.NewVault(secrets.VaultConfig{}); err == nil {
				a.vault = v
			}
		}
	}
	a.live = &secrets.Live{}
	if len(a.cfg.SecretRefs) > 0 {
		refs := make([]secrets.Ref, len(a.cfg.SecretRefs))
		for i, r := range a.cfg.SecretRefs {
			refs[i] = secrets.Ref{Key: r.Key, Kind: r.Kind, Ref: r.Ref}
		}
		a.refresher = &secrets.Refresher{Refs: refs, Resolve: secrets.NewResolver(nil, a.vault), Registry: a.secrets,
			Logger: a.log, OnChange: a.secretRotated}
		a.refresher.RefreshOnce(ctx) // remember today's values
	}
	if a.cfg.Atrium.Secrets.GitCheck {
		for _, f := range secrets.ScanConfigFiles(ctx, a.cfg.Sources) {
			a.log.Warn("configuration", "warning", f.String())
		}
	}
}

// RefreshSecrets re-resolves the configuration's ${file:…} and ${vault:…}
// references now, as atrium.secrets.refreshInterval does periodically,
// and returns how many changed. Changed values reach their consumers (the
// PostgreSQL password of new connections, OIDC client secrets, static
// access tokens) at their next use.
func (a *App) RefreshSecrets(ctx context.Context) int {
	if a.refresher == nil {
		return 0
	}
	return a.refresher.RefreshOnce(ctx)
}

// secretRotated hands a rotated secret to the values that contain it and
// to the plugin whose configuration references it (re-provisioned), and
// records the rotation (never the value) in the audit log.
func (a *App) secretRotated(r secrets.Ref, old, value string) {
	n := a.live.Rotate(old, value)
	a.log.Info("rotated secret passed to its consumers", "key", r.Key, "ref", r.Kind+":"+r.Ref, "consumers", n)
	a.reprovisionPlugin(r, old, value)
	if a.audit == nil {
		return
	}
	ev := audit.Event{
		Actor:    audit.Actor{Ref: "service:atrium-secrets", Type: "service", Via: "secret refresh"},
		Action:   "atrium.secret.rotated",
		Resource: r.Key,
		Outcome:  audit.Succeeded,
		Details:  map[string]any{"ref": r.Kind + ":" + r.Ref, "consumers": n},
	}
	if err := a.auditEvent(context.Background(), ev); err != nil {
		a.log.Error("recording a secret rotation in the audit log", "error", err.Error())
	}
}

// newAuditLog opens the audit log on the store.
func (a *App) newAuditLog() *audit.Log {
	return audit.New(audit.Params{
		Store:         a.store,
		Logger:        a.log,
		Redact:        a.secrets.Redact,
		CheckpointKey: []byte(a.cfg.Atrium.Audit.CheckpointKey),
	})
}

// Audit returns the audit log.
func (a *App) Audit() *audit.Log { return a.audit }

// csrfKey derives the CSRF signing key from the newest secrets key, so
// replicas agree; without keys each process draws its own.
func (a *App) csrfKey() []byte {
	keys := a.cfg.Atrium.Secrets.Keys
	if len(keys) == 0 {
		return nil
	}
	m := hmac.New(sha256.New, keys[len(keys)-1].Key)
	m.Write([]byte("atrium csrf v1"))
	return m.Sum(nil)
}

func principalRef(r *http.Request) string {
	p := auth.PrincipalFrom(r.Context())
	if p == nil || p.Type == auth.PrincipalNone {
		return ""
	}
	return p.Ref
}

func sessionOf(r *http.Request) string {
	p := auth.PrincipalFrom(r.Context())
	if p == nil || p.Via != auth.ViaSession {
		return ""
	}
	return p.TokenID
}

func originOf(baseURL string) string {
	u, err := url.Parse(baseURL)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// tlsListener serves TLS on ln with backend.https's certificate and key
// (PEM text or file paths). The certificate is re-read when its file
// changes, so a renewed certificate needs no restart.
func (a *App) tlsListener(ln net.Listener) (net.Listener, error) {
	h := a.cfg.Backend.HTTPS
	load := func() (*tls.Certificate, error) {
		cert, err := pemOrFile(h.Cert)
		if err != nil {
			return nil, fmt.Errorf("backend.https.certificate.cert: %w", err)
		}
		key, err := pemOrFile(h.Key)
		if err != nil {
			return nil, fmt.Errorf("backend.https.certificate.key: %w", err)
		}
		c, err := tls.X509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("backend.https.certificate: the certificate and key do not form a pair: %v", err)
		}
		return &c, nil
	}
	first, err := load()
	if err != nil {
		return nil, err
	}
	cache := &certCache{cert: first, load: load, at: time.Now()}
	return tls.NewListener(ln, &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: cache.get,
		NextProtos:     []string{"h2", "http/1.1"},
	}), nil
}

func pemOrFile(v string) ([]byte, error) {
	if strings.Contains(v, "-----BEGIN") {
		return []byte(v), nil
	}
	b, err := os.ReadFile(v)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %v", v, err)
	}
	return b, nil
}

// certCache re-reads the certificate at most once a minute and keeps the
// last good one when reading fails.
type certCache struct {
	mu   sync.Mutex
	cert *tls.Certificate
	at   time.Time
	load func() (*tls.Certificate, error)
}

func (c *certCache) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.at) > time.Minute {
		c.at = time.Now()
		if cert, err := c.load(); err == nil {
			c.cert = cert
		}
	}
	return c.cert, nil
}

// auditRoutes registers the audit API and the audit page, which the
// portal's layout frames.
func (a *App) auditRoutes(api *audit.API, portal *ui.UI) func(web.Mux) {
	page := &audit.Page{
		Log:        api.Log,
		Authorizer: api.Authorizer,
		Render: func(w http.ResponseWriter, r *http.Request, v audit.PageView) {
			portal.Render(w, r, ui.View{Title: v.Title, Section: "settings", Body: v.Body, Status: v.Status})
		},
	}
	return func(mux web.Mux) {
		api.Register(mux)
		page.Register(mux)
		mux.HandleFunc("POST "+SecretsRefreshPath, a.serveSecretsRefresh)
	}
}

// SecretsRefreshPath re-resolves the configuration's secret references now
// (atrium.admin.secrets.manage), for an operator who has just rotated one.
const SecretsRefreshPath = "/api/secrets/refresh"

// serveSecretsRefresh answers {"changed": N}: how many references had a
// new value, which their consumers use from their next use on.
func (a *App) serveSecretsRefresh(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if a.authz == nil {
		web.WriteError(w, r, fault.New(fault.Forbidden, "not allowed: atrium.admin.secrets.manage"))
		return
	}
	if err := a.authz.Check(ctx, auth.PrincipalFrom(ctx), "atrium.admin.secrets.manage", nil); err != nil {
		web.WriteError(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]int{"changed": a.RefreshSecrets(ctx)})
}
