package app

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/atrium-portal/atrium/internal/config"
	"github.com/atrium-portal/atrium/internal/secrets"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/store/postgres"
)

// openPostgres opens the PostgreSQL store. The connection string is not
// repeated in errors: it may hold a password. The password is read each
// time a connection opens, from live, so that a rotated ${file:…} or
// ${vault:…} password reaches new connections without a restart.
func openPostgres(ctx context.Context, db config.Database, live *secrets.Live) (store.Driver, error) {
	pc := postgres.Config{
		URL:              db.DSN,
		MaxConns:         int32(db.PoolMax),
		StatementTimeout: db.StatementTimeout,
		LookupBatch:      db.LookupBatch,
	}
	if parsed, err := pgx.ParseConfig(db.DSN); err == nil && parsed.Password != "" {
		pc.Password = live.Track(parsed.Password).Get
	}
	s, err := postgres.Open(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("opening the PostgreSQL database (backend.database.connection): %w", err)
	}
	return s, nil
}
