// Package auth authenticates requests: OIDC sign-in, server-side sessions,
// API tokens and service credentials. It turns a request into a Principal.
package auth

import "context"

// PrincipalType says what kind of caller a principal is.
type PrincipalType string

// The principal types.
const (
	PrincipalUser    PrincipalType = "user"    // a person, signed in or with a personal token
	PrincipalService PrincipalType = "service" // a service token, static token or JWT
	PrincipalNone    PrincipalType = "none"    // unauthenticated (public routes only)
)

// Principal is who is calling.
type Principal struct {
	Type PrincipalType
	// Ref is the catalog ref of the user ("user:default/jane") or the
	// subject of a service credential ("service:ci-pipeline").
	Ref string
	// OwnershipRefs are the refs the caller owns through: its own ref and
	// every group it belongs to, transitively.
	OwnershipRefs []string
	// Claims are the identity provider's claims (users) or token metadata.
	Claims map[string]any
	// Scopes restrict what a token may do; empty means the principal's full rights.
	Scopes []string
	// Via says how the caller authenticated: "session", "token", "static",
	// "jwt" or "dev" (the loopback development mode).
	Via string
	// TokenID identifies the API token or session used, for audit.
	TokenID string
	// DisplayName is shown in the UI.
	DisplayName string
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal in ctx, or nil when there is none.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}
