package app

import (
	"context"
	"errors"

	"github.com/atrium-portal/atrium/internal/config"
	"github.com/atrium-portal/atrium/internal/store"
)

// openPostgres opens the PostgreSQL store.
func openPostgres(ctx context.Context, db config.Database) (store.Driver, error) {
	return nil, errors.New("backend.database.client pg: the PostgreSQL store is not part of this build yet")
}
