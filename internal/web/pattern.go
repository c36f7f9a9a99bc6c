package web

import (
	"context"
	"net/http"
)

// Pattern returns the route pattern ("POST /api/catalog/locations") that
// the request in ctx matches, known before routing so that middleware
// (audit, rate limits) can name the route even for requests refused before
// they reach it. It is empty outside a request.
func Pattern(ctx context.Context) string {
	if s := stateOf(ctx); s != nil {
		return s.pattern
	}
	return ""
}

// withPattern routes r on mux (unless the tracing did already) and puts the
// pattern it matched into the context.
func withPattern(mux *http.ServeMux) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, r := withState(r)
			s.routeOn(mux, r)
			next.ServeHTTP(w, r)
		})
	}
}
