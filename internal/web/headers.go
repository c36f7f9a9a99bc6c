package web

import (
	"net/http"
	"strconv"
)

// ContentSecurityPolicy is the CSP on every response: nothing inline, no
// framing, everything from Atrium's own origin.
const ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; " +
	"object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

// HeadersConfig configures SecurityHeaders.
type HeadersConfig struct {
	// TLS says the server is reached over HTTPS; only then is HSTS sent.
	TLS bool
	// HSTSMaxAge is Strict-Transport-Security's max-age in seconds
	// (default one year).
	HSTSMaxAge int
}

// SecurityHeaders sets the security headers on every response, errors
// included, before the handler runs.
func SecurityHeaders(c HeadersConfig) Middleware {
	if c.HSTSMaxAge <= 0 {
		c.HSTSMaxAge = 365 * 24 * 3600
	}
	hsts := "max-age=" + strconv.Itoa(c.HSTSMaxAge) + "; includeSubDomains"
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("Content-Security-Policy", ContentSecurityPolicy)
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
			h.Set("X-Frame-Options", "DENY")
			h.Set("Cross-Origin-Opener-Policy", "same-origin")
			if c.TLS || r.TLS != nil {
				h.Set("Strict-Transport-Security", hsts)
			}
			next.ServeHTTP(w, r)
		})
	}
}
