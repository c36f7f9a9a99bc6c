package app

import (
	"net/http"

	"github.com/atrium-portal/atrium/internal/config"
	"github.com/atrium-portal/atrium/internal/store/sqlite"
)

// Handler returns the HTTP handler with all its middleware, for tests
// and benchmarks that serve requests in process.
func (a *App) Handler() http.Handler { return a.server.Handler() }

// SQLiteConfig is sqliteConfig, for tests.
func SQLiteConfig(path string, db config.Database, mem config.Memory) sqlite.Config {
	return sqliteConfig(path, db, mem)
}

// EffectiveMemoryLimit is effectiveMemoryLimit, for tests.
func EffectiveMemoryLimit(limit, live, stable int64, firstLoad bool) int64 {
	return effectiveMemoryLimit(limit, live, stable, firstLoad)
}
