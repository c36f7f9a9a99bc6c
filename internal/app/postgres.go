package app

import (
	"context"
	"fmt"

	"github.com/atrium-portal/atrium/internal/config"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/store/postgres"
)

// openPostgres opens the PostgreSQL store. The connection string is not
// repeated in errors: it may hold a password.
func openPostgres(ctx context.Context, db config.Database) (store.Driver, error) {
	s, err := postgres.Open(ctx, postgres.Config{
		URL:              db.DSN,
		MaxConns:         int32(db.PoolMax),
		StatementTimeout: db.StatementTimeout,
	})
	if err != nil {
		return nil, fmt.Errorf("opening the PostgreSQL database (backend.database.connection): %w", err)
	}
	return s, nil
}
