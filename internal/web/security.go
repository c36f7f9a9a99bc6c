package web

import "net/http"

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
}

func orNoop(m Middleware) Middleware {
	if m == nil {
		return func(h http.Handler) http.Handler { return h }
	}
	return m
}
