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

type status struct {
	Status string `json:"status"`
}

// liveness answers 200 while the process serves HTTP at all.
func liveness(w http.ResponseWriter, r *http.Request) {
	WriteJSON(w, http.StatusOK, status{Status: "ok"})
}

// readiness answers 200 when the database answers, 503 otherwise.
func readiness(p Pinger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), pingTimeout)
		defer cancel()
		if err := p.Ping(ctx); err != nil {
			WriteError(w, r, fault.Wrap(fault.Unavailable, err, "the database is not reachable"))
			return
		}
		WriteJSON(w, http.StatusOK, status{Status: "ok"})
	}
}
