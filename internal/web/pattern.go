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
	s, _ := ctx.Value(keyPattern).(string)
	return s
}

// withPattern puts the pattern that mux would route r to into the context.
func withPattern(mux *http.ServeMux) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, pattern := mux.Handler(r)
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), keyPattern, pattern)))
		})
	}
}
