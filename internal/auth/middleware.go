package auth

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/web"
)

// Middleware authenticates every request: it puts the caller's principal
// into the request context, or refuses the request. Routes that web marks
// public (web.IsPublic) are let through without credentials. Browsers asking
// for a page are sent to the sign-in page instead of getting a 401.
func (a *Authenticator) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		public := web.IsPublic(r.Context())
		p, err := a.Authenticate(r)
		switch {
		case err != nil && !public:
			a.deny(w, r, err)
			return
		case p == nil && !public:
			a.deny(w, r, fault.New(fault.Unauthorized, "sign in or send an API token (Authorization: Bearer)"))
			return
		case p == nil || err != nil:
			p = &Principal{Type: PrincipalNone}
		}
		// The principal rides in the web request state when there is
		// one, which saves a copy of the request and a context.
		if web.SetRequestValue(r.Context(), principalKey{}, p) {
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
	})
}

// Authenticate returns the principal that r's credentials prove: a bearer
// token first, then the session cookie, then the development user. It
// returns nil and no error when r carries no credentials outside
// development mode, and a fault.Unauthorized error when they are wrong.
func (a *Authenticator) Authenticate(r *http.Request) (*Principal, error) {
	ctx := r.Context()
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, ok := strings.Cut(h, " ")
		token = strings.TrimSpace(token)
		if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
			return nil, fault.New(fault.Unauthorized, "the Authorization header must be \"Bearer <token>\"")
		}
		return a.fromBearer(ctx, token)
	}
	if secret := a.sessionSecret(r); secret != "" {
		p, err := a.fromSession(ctx, secret)
		if err == nil || !a.Development() {
			return p, err
		}
	}
	if a.Development() {
		return a.developmentPrincipal(ctx), nil
	}
	return nil, nil
}

func (a *Authenticator) fromBearer(ctx context.Context, token string) (*Principal, error) {
	switch {
	case strings.HasPrefix(token, PersonalTokenPrefix), strings.HasPrefix(token, ServiceTokenPrefix):
		return a.fromToken(ctx, token)
	}
	if p := a.fromStatic(token); p != nil {
		return p, nil
	}
	if looksLikeJWT(token) && len(a.jwks) > 0 {
		return a.fromJWT(ctx, token)
	}
	return nil, fault.New(fault.Unauthorized, "the token is not valid")
}

// developmentPrincipal is the user every request acts as in development
// mode, with the ownership the catalog gives it. The principal is built
// once per ownership answer (the resolver keeps one for a minute) and then
// shared by the requests, which only read it: a principal, its claims map
// and its strings per request were a tenth of a cached by-name request's
// allocations.
func (a *Authenticator) developmentPrincipal(ctx context.Context) *Principal {
	ref := a.p.Auth.DevelopmentUser
	refs, name, err := a.res.ownership(ctx, ref)
	if err != nil {
		refs, name = []string{ref}, ""
	}
	if d := a.dev.Load(); d != nil && err == nil && d.ref == ref && d.name == name && sameSlice(d.refs, refs) {
		return d.p
	}
	display := name
	if display == "" {
		display = ref
	}
	p := &Principal{Type: PrincipalUser, Ref: ref, OwnershipRefs: refs, Via: ViaDevelopment, DisplayName: display,
		Claims: map[string]any{"sub": ref}}
	if err == nil {
		a.dev.Store(&devPrincipal{ref: ref, name: name, refs: refs, p: p})
	}
	return p
}

// devPrincipal is the development principal built from one ownership
// answer.
type devPrincipal struct {
	ref, name string
	refs      []string
	p         *Principal
}

// sameSlice reports whether a and b are the same slice (same array and
// length), not merely equal: a new ownership answer is a new slice.
func sameSlice(a, b []string) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// deny answers an unauthenticated request: a redirect to the sign-in page
// for a browser asking for a page, Backstage's 401 body otherwise.
func (a *Authenticator) deny(w http.ResponseWriter, r *http.Request, err error) {
	if wantsPage(r) {
		if strings.Contains(err.Error(), "session") {
			a.clearSessionCookie(w)
		}
		http.Redirect(w, r, "/auth/login?redirect="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="atrium"`)
	web.WriteError(w, r, err)
}

// wantsPage reports whether r is a browser navigating to a page.
func wantsPage(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if r.Header.Get("Authorization") != "" || strings.HasPrefix(r.URL.Path, "/api/") {
		return false
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}
