package postgres

import (
	"context"

	"github.com/atrium-portal/atrium/internal/store/sqlplan"
)

var _ sqlplan.CachingRunner = runner{}

// SetCache returns the store's cache of leaf id sets; see sqlplan.CachingRunner.
func (r runner) SetCache() *sqlplan.SetCache { return r.db.sets }

// Text runs a query returning one text value; see sqlplan.TextRunner.
func (r runner) Text(ctx context.Context, query string, args []any) (string, error) {
	var s *string
	if err := r.db.pool.QueryRow(ctx, query, args...).Scan(&s); err != nil {
		return "", dbErr(ctx, err, "count entities")
	}
	if s == nil {
		return "", nil
	}
	return *s, nil
}
