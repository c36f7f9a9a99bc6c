package web

import (
	"context"
	"net/http"
	"time"

	"github.com/atrium-portal/atrium/internal/fault"
)

// Pinger checks that a dependency (the database) answers.
type Pinger interface {
	Ping(ctx context.Context) error
}

// pingTimeout bounds a readiness check.
const pingTimeout = 2 * time.Second

// notLoaded says why a process that is still loading the catalog is not
// ready.
const notLoaded = "not ready: this replica's first load of the catalog is still running"

type status struct {
	Status string `json:"status"`
}

// liveness answers 200 while the process serves HTTP at all.
func liveness(w http.ResponseWriter, r *http.Request) {
	WriteJSON(w, http.StatusOK, status{Status: "ok"})
}

// readiness answers 200 when this process has loaded the catalog once and
// the database answers, 503 otherwise: a replica still loading would serve
// a partial catalog. loading may be nil (nothing to wait for).
func readiness(p Pinger, loading func() bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if loading != nil && loading() {
			// Expected at every start, so not logged as a failure.
			w.Header().Set("Retry-After", "5")
			WriteJSON(w, http.StatusServiceUnavailable, ErrorBody{
				Error:    ErrorInfo{Name: string(fault.Unavailable), Message: notLoaded},
				Request:  RequestInfo{Method: r.Method, URL: r.URL.RequestURI()},
				Response: ResponseInfo{StatusCode: http.StatusServiceUnavailable},
			})
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), pingTimeout)
		defer cancel()
		if err := p.Ping(ctx); err != nil {
			WriteError(w, r, fault.Wrap(fault.Unavailable, err, "the database is not reachable"))
			return
		}
		WriteJSON(w, http.StatusOK, status{Status: "ok"})
	}
}
