package web

import (
	"net/http"
	"time"
)

// RequestObserver records each answered request: its route pattern (not
// the raw path, so that the number of series stays bounded), method,
// status and duration. internal/metrics implements it.
type RequestObserver interface {
	ObserveRequest(route, method string, status int, d time.Duration)
}

// observeRequests reports every request to o; nil observes nothing. It
// runs after withPattern, so the route is known even for requests refused
// by later middleware (401, 429, …).
func observeRequests(o RequestObserver) Middleware {
	if o == nil {
		return func(h http.Handler) http.Handler { return h }
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// The access log's clock readings, when it runs first (the
			// server's chain), instead of two of its own.
			s := stateOf(r.Context())
			var start time.Time
			if s != nil && !s.start.IsZero() {
				start = s.start
			} else {
				start, s = time.Now(), nil
			}
			rec, w := recording(w)
			done := false
			defer func() {
				end := time.Now()
				if s != nil {
					s.end = end
				}
				status := rec.status
				switch {
				case !done:
					// A panic is on its way to Recover, which answers 500.
					status = http.StatusInternalServerError
				case status == 0:
					status = http.StatusOK
				}
				route := Pattern(r.Context())
				if route == "" {
					route = "unmatched"
				}
				o.ObserveRequest(route, r.Method, status, end.Sub(start))
			}()
			next.ServeHTTP(w, r)
			done = true
		})
	}
}
