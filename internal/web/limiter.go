package web

import (
	"context"
	"net/http"
)

// Acquirer takes a slot for a kind of heavy operation (see package heavy).
type Acquirer interface {
	Acquire(ctx context.Context, kind string) (release func(), err error)
}

// LimitHeavy runs the requests whose route pattern routes names (pattern →
// kind) only once l grants a slot of that kind; a refused request is
// answered 503 with Retry-After and Backstage's error body, before the
// handler reads anything. Other routes pass through.
func LimitHeavy(l Acquirer, routes map[string]string) Middleware {
	return func(next http.Handler) http.Handler {
		if l == nil || len(routes) == 0 {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			kind, ok := routes[Pattern(r.Context())]
			if !ok {
				next.ServeHTTP(w, r)
				return
			}
			release, err := l.Acquire(r.Context(), kind)
			if err != nil {
				WriteError(w, r, err) // with Retry-After
				return
			}
			defer release()
			next.ServeHTTP(w, r)
		})
	}
}
