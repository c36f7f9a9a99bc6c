package auth

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/atrium-portal/atrium/internal/config"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/secrets"
	"github.com/atrium-portal/atrium/internal/store"
)

// loginTTL bounds how long a person may take at the identity provider.
const loginTTL = 10 * time.Minute

// loginCookie binds a sign-in to the browser that started it: the state
// that comes back must equal the cookie (login CSRF).
const loginCookie = "atrium_login"

// oidcProvider is one configured OpenID Connect provider, discovered on
// first use.
type oidcProvider struct {
	cfg      config.AuthProvider
	redirect string
	client   *http.Client
	// secret is the client secret, read at each sign-in so that a rotated
	// secret takes effect for the next one.
	secret *secrets.Value

	mu       sync.Mutex
	provider *oidc.Provider
}

func newOIDCProvider(cfg config.AuthProvider, baseURL string, client *http.Client, live *secrets.Live) *oidcProvider {
	redirect := cfg.CallbackURL
	if redirect == "" {
		redirect = strings.TrimRight(baseURL, "/") + "/api/auth/" + cfg.ID + "/handler/frame"
	}
	return &oidcProvider{cfg: cfg, redirect: redirect, client: client, secret: live.Track(cfg.ClientSecret)}
}

// discover reads the provider's metadata once it answers; a failure is
// retried on the next sign-in.
func (o *oidcProvider) discover(ctx context.Context) (*oidc.Provider, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider != nil {
		return o.provider, nil
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, o.client), o.cfg.Issuer)
	if err != nil {
		return nil, fault.Upstream(err, "the sign-in provider %s (%s) did not answer discovery", o.cfg.ID, o.cfg.Issuer)
	}
	o.provider = p
	return p, nil
}

func (o *oidcProvider) oauth(p *oidc.Provider) *oauth2.Config {
	scopes := []string{oidc.ScopeOpenID, "profile", "email"}
	for _, s := range o.cfg.Scopes {
		if !strings.EqualFold(s, oidc.ScopeOpenID) && !containsFold(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	return &oauth2.Config{ClientID: o.cfg.ClientID, ClientSecret: o.secret.Get(), Endpoint: p.Endpoint(),
		RedirectURL: o.redirect, Scopes: scopes}
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// start sends the browser to the identity provider: authorization code
// flow with PKCE (S256), a nonce, and a state bound to the browser.
func (a *Authenticator) start(w http.ResponseWriter, r *http.Request) {
	o, ok := a.providers[r.PathValue("provider")]
	if !ok {
		a.signInFailed(w, r, fault.New(fault.NotFound, "no sign-in provider named %q is configured", r.PathValue("provider")))
		return
	}
	ctx := r.Context()
	p, err := o.discover(ctx)
	if err != nil {
		a.signInFailed(w, r, err)
		return
	}
	state, nonce, verifier := randomString(32), randomString(32), oauth2.GenerateVerifier()
	if err := a.p.Store.LoginCreate(ctx, store.Login{Hash: hashSecret(state), Provider: o.cfg.ID, Nonce: nonce,
		Verifier: verifier, Redirect: localRedirect(r.URL.Query().Get("redirect")), ExpiresAt: a.now().Add(loginTTL)}); err != nil {
		a.signInFailed(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: state, Path: "/api/auth/", MaxAge: int(loginTTL.Seconds()),
		HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode})
	opts := []oauth2.AuthCodeOption{oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)}
	if o.cfg.Prompt != "" {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", o.cfg.Prompt))
	}
	http.Redirect(w, r, o.oauth(p).AuthCodeURL(state, opts...), http.StatusFound)
}

// callback finishes a sign-in: it checks the state, exchanges the code,
// verifies the ID token and its nonce, resolves the catalog user and
// starts a session.
func (a *Authenticator) callback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("provider")
	o, ok := a.providers[id]
	if !ok {
		a.signInFailed(w, r, fault.New(fault.NotFound, "no sign-in provider named %q is configured", id))
		return
	}
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		a.signInFailed(w, r, fault.New(fault.Unauthorized, "the sign-in provider refused: %s %s", truncate(e, 100), truncate(q.Get("error_description"), 300)))
		return
	}
	state := q.Get("state")
	c, err := r.Cookie(loginCookie)
	if state == "" || err != nil || !equalSecret(c.Value, state) {
		a.signInFailed(w, r, fault.New(fault.Unauthorized, "this sign-in was not started in this browser, or it took too long; start again"))
		return
	}
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: "", Path: "/api/auth/", MaxAge: -1, HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode})
	login, err := a.p.Store.LoginTake(ctx, hashSecret(state), a.now())
	if err != nil {
		if fault.Is(err, fault.NotFound) {
			err = fault.New(fault.Unauthorized, "this sign-in expired or was already used; start again")
		}
		a.signInFailed(w, r, err)
		return
	}
	if login.Provider != id {
		a.signInFailed(w, r, fault.New(fault.Unauthorized, "this sign-in was started with another provider"))
		return
	}
	claims, err := a.exchange(ctx, o, q.Get("code"), login)
	if err != nil {
		a.signInFailed(w, r, err)
		return
	}
	ident, err := a.res.resolve(ctx, o.cfg.Resolvers, claims)
	if err != nil {
		a.log.WarnContext(ctx, "sign-in refused", "provider", id, "sub", claimString(claims, "sub"), "reason", err.Error())
		a.signInFailed(w, r, err)
		return
	}
	if err := a.startSession(ctx, w, r, id, ident); err != nil {
		a.signInFailed(w, r, err)
		return
	}
	a.audit(ctx, AuditEvent{Action: "auth.signin", Resource: ident.Ref, Succeeded: true,
		Details: map[string]any{"provider": id, "sub": claimString(claims, "sub")}})
	http.Redirect(w, r, login.Redirect, http.StatusSeeOther)
}

// exchange trades the code for tokens and returns the verified ID token's
// claims.
func (a *Authenticator) exchange(ctx context.Context, o *oidcProvider, code string, login *store.Login) (map[string]any, error) {
	if code == "" {
		return nil, fault.New(fault.Unauthorized, "the sign-in provider sent no authorization code")
	}
	p, err := o.discover(ctx)
	if err != nil {
		return nil, err
	}
	octx := oidc.ClientContext(ctx, o.client)
	tok, err := o.oauth(p).Exchange(octx, code, oauth2.VerifierOption(login.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return nil, fault.New(fault.Unauthorized, "the sign-in provider refused the authorization code (%s)", re.ErrorCode)
		}
		return nil, fault.Upstream(err, "exchanging the authorization code with %s failed", o.cfg.ID)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, fault.New(fault.Unauthorized, "the sign-in provider sent no ID token")
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: o.cfg.ClientID}).Verify(octx, raw)
	if err != nil {
		return nil, fault.Wrap(fault.Unauthorized, err, "the ID token is not valid")
	}
	if !equalSecret(idt.Nonce, login.Nonce) {
		return nil, fault.New(fault.Unauthorized, "the ID token's nonce does not match this sign-in")
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		return nil, fault.Wrap(fault.Unauthorized, err, "the ID token's claims are not readable")
	}
	// Some providers (GitLab, Entra ID with optional claims) put the email
	// only in userinfo.
	if claimString(claims, "email") == "" {
		if ui, err := p.UserInfo(octx, oauth2.StaticTokenSource(tok)); err == nil {
			var extra map[string]any
			if ui.Claims(&extra) == nil && ui.Subject == idt.Subject {
				for k, v := range extra {
					if _, ok := claims[k]; !ok {
						claims[k] = v
					}
				}
			}
		}
	}
	return claims, nil
}

// localRedirect keeps only same-site paths, so that the sign-in cannot be
// used to send people elsewhere (open redirect).
func localRedirect(s string) string {
	if s == "" || !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.ContainsAny(s, "\\\r\n") ||
		strings.HasPrefix(s, "/auth/") || strings.HasPrefix(s, "/api/auth/") {
		return "/"
	}
	return s
}

// logout ends the caller's session.
func (a *Authenticator) logout(w http.ResponseWriter, r *http.Request) {
	if secret := a.sessionSecret(r); secret != "" {
		err := a.p.Store.SessionDelete(r.Context(), store.SessionDeleteParams{Hash: hashSecret(secret)})
		if err != nil && !fault.Is(err, fault.NotFound) {
			a.log.WarnContext(r.Context(), "signing out", "error", err.Error())
		}
	}
	a.clearSessionCookie(w)
	if strings.HasPrefix(r.URL.Path, "/api/") {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(w, r, "/auth/login?signedOut=1", http.StatusSeeOther)
}
