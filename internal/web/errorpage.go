package web

import (
	"context"
	"net/http"
	"strings"

	"github.com/atrium-portal/atrium/internal/fault"
)

// ErrorPageFunc renders a failed request as an HTML page for a browser.
// It receives the status chosen by StatusOf and the safe fault error; the
// cause has already been logged.
type ErrorPageFunc func(w http.ResponseWriter, r *http.Request, status int, fe *fault.Error)

// WithErrorPage makes WriteError answer browser requests (see WantsHTML)
// with page instead of the JSON error body.
func WithErrorPage(page ErrorPageFunc) Middleware {
	return func(next http.Handler) http.Handler {
		if page == nil {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, r := withState(r)
			s.errorPage = page
			next.ServeHTTP(w, r)
		})
	}
}

func errorPageFrom(ctx context.Context) ErrorPageFunc {
	if s := stateOf(ctx); s != nil {
		return s.errorPage
	}
	return nil
}

// WantsHTML reports whether r comes from a browser that expects a page: its
// Accept header names text/html and it is not for the JSON API (/api/...),
// whose clients always get Backstage's error body.
func WantsHTML(r *http.Request) bool {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		return false
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}
