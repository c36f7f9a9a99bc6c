package web

import (
	"net/http"
	"strconv"
)

// ContentSecurityPolicy is the CSP on every response: nothing inline, no
// framing, everything from Atrium's own origin.
const ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; " +
	"object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

var (
	cspValue        = []string{ContentSecurityPolicy}[:1:1]
	nosniffValue    = []string{"nosniff"}[:1:1]
	referrerValue   = []string{"strict-origin-when-cross-origin"}[:1:1]
	denyValue       = []string{"DENY"}[:1:1]
	sameOriginValue = []string{"same-origin"}[:1:1]
)

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
			// Canonical keys set directly, with one value slice for every
			// response (capacity 1: an Add copies instead of appending into
			// it): five allocations fewer per request than Header.Set.
			h := w.Header()
			h["Content-Security-Policy"] = cspValue
			h["X-Content-Type-Options"] = nosniffValue
			h["Referrer-Policy"] = referrerValue
			h["X-Frame-Options"] = denyValue
			h["Cross-Origin-Opener-Policy"] = sameOriginValue
			if c.TLS || r.TLS != nil {
				h.Set("Strict-Transport-Security", hsts)
			}
			next.ServeHTTP(w, r)
		})
	}
}
