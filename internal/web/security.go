package web

import (
	"context"
	"net/http"
)

// Security configures the security middleware of the server.
type Security struct {
	Headers   HeadersConfig
	CORS      CORSConfig
	RateLimit RateLimitConfig
	// CSRF is nil only in tests of other middleware; the server always
	// protects cookie-authenticated state changes.
	CSRF CSRFConfig
	// Audit records requests; it runs before authentication so that it
	// sees authentication's refusals.
	Audit Middleware
	// AuditPrincipal runs right after authentication and tells Audit who
	// the caller is.
	AuditPrincipal Middleware
	// Redact masks secret values; error answers pass through it.
	Redact func(string) string
	// TrustProxy is the number of reverse proxies in front (backend.trustProxy).
	TrustProxy int
}

// Redactor returns the function that masks secrets in text sent to the
// caller for the request in ctx (the identity outside a server).
func Redactor(ctx context.Context) func(string) string {
	if s := stateOf(ctx); s != nil && s.redact != nil {
		return s.redact
	}
	return func(s string) string { return s }
}

// withRedact makes f the request's Redactor.
func withRedact(f func(string) string) Middleware {
	return func(next http.Handler) http.Handler {
		if f == nil {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, r := withState(r)
			s.redact = f
			next.ServeHTTP(w, r)
		})
	}
}

func orNoop(m Middleware) Middleware {
	if m == nil {
		return func(h http.Handler) http.Handler { return h }
	}
	return m
}
