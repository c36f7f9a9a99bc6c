package auth

import (
	"context"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/atrium-portal/atrium/internal/config"
	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/secrets"
	"github.com/atrium-portal/atrium/internal/store"
)

// How a principal authenticated (Principal.Via).
const (
	ViaSession     = "session"
	ViaToken       = "token"
	ViaStatic      = "static"
	ViaJWT         = "jwt"
	ViaDevelopment = "dev"
)

// Params configure an Authenticator.
type Params struct {
	Store   store.AuthStore
	Catalog engine.Catalog
	// Auth is the auth section; External is backend.auth.externalAccess.
	Auth     config.Auth
	External []config.ExternalAccess
	// BaseURL is backend.baseUrl: callback URLs and whether cookies are Secure.
	BaseURL string
	// TLS says the server itself serves HTTPS (cookies are then Secure).
	TLS    bool
	Logger *slog.Logger
	// HTTPClient reaches identity providers and JWKS endpoints; nil means
	// a client with a 10 s timeout.
	HTTPClient *http.Client
	// Render, when set, wraps a page body in the portal's layout (the UI
	// package's renderer); nil renders a minimal page.
	Render func(w http.ResponseWriter, r *http.Request, p Page)
	// CSRFToken returns the token that POST forms carry; nil means
	// web.CSRFToken.
	CSRFToken func(r *http.Request) string
	// Audit records authentication events (the audit log's Record); nil
	// records nothing. Mutating requests are also recorded by the audit
	// middleware; this adds sign-ins, which are GET requests.
	Audit func(ctx context.Context, ev AuditEvent)
	// AllowServiceTokens decides whether p may create service tokens
	// through the API (an authorization decision); nil means only the CLI
	// (operators with database access) creates them.
	AllowServiceTokens func(ctx context.Context, p *Principal) error
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Secrets keeps OIDC client secrets and static tokens current when
	// their ${file:…} or ${vault:…} references are rotated; nil keeps the
	// configured values.
	Secrets *secrets.Live
}

// Page is one of the authentication pages, for Params.Render.
type Page struct {
	Title  string
	Body   template.HTML
	Status int
}

// Authenticator turns requests into principals: session cookies, API
// tokens, static tokens, JWTs, or the development user.
type Authenticator struct {
	p         Params
	log       *slog.Logger
	now       func() time.Time
	res       *resolver
	providers map[string]*oidcProvider
	order     []string
	statics   []config.ExternalAccess
	jwks      []*jwksVerifier
	secure    bool
	touches   *touchLimiter

	// staticTokens are the statics' tokens, read at use time (rotation).
	staticTokens []*secrets.Value
	// dev is the development principal of the last ownership answer.
	dev atomic.Pointer[devPrincipal]
}

// New builds an Authenticator. Identity providers are discovered on first
// use, so that Atrium starts while one is down.
func New(p Params) (*Authenticator, error) {
	if p.Store == nil || p.Catalog == nil {
		return nil, errors.New("auth: Params.Store and Params.Catalog are required")
	}
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.HTTPClient == nil {
		p.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	a := &Authenticator{
		p:         p,
		log:       p.Logger,
		now:       p.Now,
		res:       &resolver{cat: p.Catalog, unknownUsers: p.Auth.UnknownUsers, now: p.Now},
		providers: map[string]*oidcProvider{},
		touches:   newTouchLimiter(time.Minute),
	}
	if u, err := url.Parse(p.BaseURL); err == nil && u.Scheme == "https" {
		a.secure = true
	}
	a.secure = a.secure || p.TLS
	for _, pc := range p.Auth.Providers {
		a.providers[pc.ID] = newOIDCProvider(pc, p.BaseURL, p.HTTPClient, p.Secrets)
		a.order = append(a.order, pc.ID)
	}
	for _, e := range p.External {
		switch e.Type {
		case "static":
			a.statics = append(a.statics, e)
			a.staticTokens = append(a.staticTokens, p.Secrets.Track(e.Token))
		case "jwks":
			a.jwks = append(a.jwks, newJWKSVerifier(e, p.HTTPClient))
		}
	}
	return a, nil
}

// Development reports whether no sign-in provider is configured, so that
// every request acts as the development user (loopback only; see
// CheckDevelopmentAddr).
func (a *Authenticator) Development() bool { return len(a.providers) == 0 }

// Run removes expired sessions and abandoned sign-ins every few minutes
// until ctx is done.
func (a *Authenticator) Run(ctx context.Context) error {
	t := time.NewTicker(5 * time.Minute)
	defer t.Stop()
	for {
		a.expire(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (a *Authenticator) expire(ctx context.Context) {
	now := a.now()
	n, err := a.p.Store.SessionDeleteExpired(ctx, store.SessionExpireParams{Now: now, IdleBefore: now.Add(-a.p.Auth.Session.IdleTimeout)})
	if err != nil && ctx.Err() == nil {
		a.log.Warn("removing expired sessions", "error", err.Error())
		return
	}
	if n > 0 {
		a.log.Info("removed expired sessions", "count", n)
	}
}
