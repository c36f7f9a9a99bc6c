package web

import (
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/atrium-portal/atrium/internal/fault"
)

// CORSConfig is backend.cors: closed (no origin allowed) unless origins are
// listed.
type CORSConfig struct {
	// Origins are allowed origins ("https://app.example.com"); a "*" inside
	// one matches one DNS label or port ("https://*.example.com"). A lone
	// "*" allows any origin, but never with credentials.
	Origins []string
	// Methods allowed in preflight answers (default GET, HEAD, POST, PUT,
	// PATCH, DELETE).
	Methods []string
	// AllowedHeaders allowed in preflight answers (default Content-Type,
	// Authorization, X-CSRF-Token, X-Requested-With).
	AllowedHeaders []string
	// ExposedHeaders are readable by the caller's script.
	ExposedHeaders []string
	// Credentials lets listed origins send cookies and credentials.
	Credentials bool
	// MaxAge is how long a preflight answer may be cached, in seconds.
	MaxAge int
}

// CORS answers cross-origin requests from allowed origins and preflights.
// Requests from other origins get no CORS headers, so browsers keep their
// answers from the calling page; their preflights are refused with 403.
func CORS(c CORSConfig) Middleware {
	if len(c.Methods) == 0 {
		c.Methods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}
	}
	if len(c.AllowedHeaders) == 0 {
		c.AllowedHeaders = []string{"Content-Type", "Authorization", CSRFHeader, "X-Requested-With"}
	}
	methods := strings.Join(c.Methods, ", ")
	headers := strings.Join(c.AllowedHeaders, ", ")
	exposed := strings.Join(c.ExposedHeaders, ", ")
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			origin := r.Header.Get("Origin")
			if origin == "" {
				next.ServeHTTP(w, r)
				return
			}
			h := w.Header()
			h.Add("Vary", "Origin")
			preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
			listed, any := c.match(origin)
			if !listed && !any {
				if preflight {
					WriteError(w, r, fault.New(fault.Forbidden, "origin %s is not allowed (backend.cors.origin)", origin))
					return
				}
				next.ServeHTTP(w, r)
				return
			}
			if listed {
				h.Set("Access-Control-Allow-Origin", origin)
				if c.Credentials {
					h.Set("Access-Control-Allow-Credentials", "true")
				}
			} else {
				h.Set("Access-Control-Allow-Origin", "*")
			}
			if exposed != "" {
				h.Set("Access-Control-Expose-Headers", exposed)
			}
			if preflight {
				h.Add("Vary", "Access-Control-Request-Method")
				h.Add("Vary", "Access-Control-Request-Headers")
				h.Set("Access-Control-Allow-Methods", methods)
				h.Set("Access-Control-Allow-Headers", headers)
				if c.MaxAge > 0 {
					h.Set("Access-Control-Max-Age", strconv.Itoa(c.MaxAge))
				}
				w.WriteHeader(http.StatusNoContent)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// match reports whether origin is listed, or allowed only by a lone "*".
func (c CORSConfig) match(origin string) (listed, any bool) {
	for _, o := range c.Origins {
		switch {
		case o == "*":
			any = true
		case strings.EqualFold(o, origin):
			return true, false
		case strings.Contains(o, "*"):
			// path.Match's "*" stops at "/", so it cannot swallow a scheme
			// or a path.
			_, rest, ok := strings.Cut(origin, "://")
			if !ok || strings.Contains(rest, "/") {
				continue
			}
			if m, _ := path.Match(strings.ToLower(o), strings.ToLower(origin)); m {
				return true, false
			}
		}
	}
	return false, any
}
