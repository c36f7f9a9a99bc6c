package sqlite

import (
	"context"

	"github.com/atrium-portal/atrium/internal/store/sqlplan"
)

// EntityRecent returns the refs of the most recently written entities,
// newest first.
func (db *DB) EntityRecent(ctx context.Context, limit int) ([]string, error) {
	b := sqlplan.NewBuilder(sqlplan.SQLite)
	q := "SELECT ref FROM entities ORDER BY updated_at DESC, id DESC" + b.LimitOffset(limit, 0)
	return db.strings(ctx, db.read, q, b.Args()...)
}
