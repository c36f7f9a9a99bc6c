package auth

import (
	"context"

	"github.com/atrium-portal/atrium/internal/web"
)

// AuditEvent is an authentication event for the audit log (Params.Audit):
// sign-ins, sign-outs, token and session changes.
type AuditEvent struct {
	Action   string
	Resource string
	// Succeeded is false for refused sign-ins.
	Succeeded bool
	Details   map[string]any
}

func (a *Authenticator) audit(ctx context.Context, ev AuditEvent) {
	if a.p.Audit != nil {
		a.p.Audit(ctx, ev)
	}
}

// PublicRoutes are the route patterns that need no principal: the sign-in
// page and the two legs of an OpenID Connect sign-in.
func (a *Authenticator) PublicRoutes() []string {
	return []string{
		"GET /auth/login",
		"GET /api/auth/{provider}/start",
		"GET /api/auth/{provider}/handler/frame",
	}
}

// Routes registers the sign-in routes, the token and session API and pages.
func (a *Authenticator) Routes(mux web.Mux) {
	mux.HandleFunc("GET /auth/login", a.loginPage)
	mux.HandleFunc("GET /api/auth/{provider}/start", a.start)
	mux.HandleFunc("GET /api/auth/{provider}/handler/frame", a.callback)
	mux.HandleFunc("POST /auth/logout", a.logout)
	mux.HandleFunc("POST /api/auth/{provider}/logout", a.logout)

	mux.HandleFunc("GET /api/auth/v1/userinfo", a.userinfo)
	mux.HandleFunc("GET /api/auth/tokens", a.apiListTokens)
	mux.HandleFunc("POST /api/auth/tokens", a.apiCreateToken)
	mux.HandleFunc("DELETE /api/auth/tokens/{id}", a.apiRevokeToken)
	mux.HandleFunc("GET /api/auth/sessions", a.apiListSessions)
	mux.HandleFunc("DELETE /api/auth/sessions/{id}", a.apiRevokeSession)

	mux.HandleFunc("GET /settings/tokens", a.tokensPage)
	mux.HandleFunc("POST /settings/tokens", a.tokensCreateForm)
	mux.HandleFunc("POST /settings/tokens/{id}/revoke", a.tokensRevokeForm)
	mux.HandleFunc("GET /settings/sessions", a.sessionsPage)
	mux.HandleFunc("POST /settings/sessions/{id}/revoke", a.sessionsRevokeForm)
}
