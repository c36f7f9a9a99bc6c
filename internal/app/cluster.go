package app

import (
	"net/http"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/atrium-portal/atrium/internal/cluster"
	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/web"
)

// The roles of a replica (atrium serve --role).
const (
	// RoleAll serves requests and does the background work.
	RoleAll = "all"
	// RoleAPI serves requests only: no location processing, no entity
	// providers, no template runs (tasks are queued for workers).
	RoleAPI = "api"
	// RoleWorker does the background work only; its HTTP listener answers
	// health checks and metrics, for probes.
	RoleWorker = "worker"
)

func checkRole(role string) (string, error) {
	switch role {
	case "":
		return RoleAll, nil
	case RoleAll, RoleAPI, RoleWorker:
		return role, nil
	}
	return "", fault.New(fault.Invalid, "--role must be all, api or worker, got %q", role)
}

// Role is the replica's role.
func (a *App) Role() string { return a.role }

// clusterFor returns what connects replicas sharing the store's database:
// LISTEN/NOTIFY and leader election on PostgreSQL, nothing on SQLite (one
// process owns the file).
func clusterFor(db any) engine.Cluster {
	if p, ok := db.(interface{ JobsPool() *pgxpool.Pool }); ok {
		return cluster.NewPostgres(p.JobsPool())
	}
	return nil
}

// workerOnly answers only health and metrics routes on a worker replica.
func workerOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if p == "/healthz" || p == "/readyz" || p == "/metrics" || strings.HasPrefix(p, "/.backstage/health/") {
			next.ServeHTTP(w, r)
			return
		}
		web.WriteError(w, r, fault.New(fault.NotFound,
			"%s is not served here: this replica runs with --role=worker (background work only); send requests to the api replicas", p))
	})
}

// taskWorkers is how many template tasks this replica runs at once: none
// on an api replica, which only queues them for workers.
func (a *App) taskWorkers(limit int) int {
	if a.role == RoleAPI {
		return 0
	}
	return limit
}
