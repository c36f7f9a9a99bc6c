package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/atrium-portal/atrium/internal/config"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/store/sqlite"
)

// openStore opens the database named by backend.database.
func (a *App) openStore(ctx context.Context) (store.Driver, error) {
	db := a.cfg.Backend.Database
	switch db.Engine {
	case config.EngineSQLite:
		path := db.Path
		if path == ":memory:" {
			// The store needs a file for its separate read and write
			// pools; an in-memory database becomes a temporary file that
			// Close removes.
			dir, err := os.MkdirTemp("", "atrium-memory-")
			if err != nil {
				return nil, fmt.Errorf("backend.database.connection ':memory:': %w", err)
			}
			a.cleanup = append(a.cleanup, func() error { return os.RemoveAll(dir) })
			path = filepath.Join(dir, "atrium.db")
		}
		s, err := sqlite.Open(ctx, sqliteConfig(path, db, a.cfg.Atrium.Memory))
		if err != nil {
			return nil, fmt.Errorf("opening SQLite database %s (backend.database.connection): %w", path, err)
		}
		return s, nil
	case config.EnginePostgres:
		return openPostgres(ctx, db, a.live)
	}
	return nil, fmt.Errorf("backend.database.client: unknown engine %q", db.Engine)
}

// sqliteConfig sizes the SQLite store from backend.database and
// atrium.memory.
func sqliteConfig(path string, db config.Database, mem config.Memory) sqlite.Config {
	return sqlite.Config{Path: path, MaxReadConns: db.PoolMax, CacheSizeKiB: int(mem.SQLiteReadCache >> 10)}
}
