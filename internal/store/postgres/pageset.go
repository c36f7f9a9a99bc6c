package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/store/sqlplan"
)

var _ sqlplan.PageBatchRunner = runner{}

// EntitiesGenericThenText runs an entity query and then a query returning
// one text value, both under a generic plan (see DB.queryGeneric), in one
// round trip; see sqlplan.PageBatchRunner.
func (r runner) EntitiesGenericThenText(ctx context.Context, query string, args []any, textQuery string, textArgs []any) ([]*catalog.Stored, string, error) {
	var out []*catalog.Stored
	var s *string
	b := &pgx.Batch{}
	b.Queue("SELECT set_config('plan_cache_mode', 'force_generic_plan', true)")
	b.Queue(query, args...).Query(func(rows pgx.Rows) error {
		var err error
		out, err = scanEntities(ctx, rows)
		return err
	})
	b.Queue(textQuery, textArgs...).QueryRow(func(row pgx.Row) error {
		return row.Scan(&s)
	})
	if err := r.db.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, "", dbErr(ctx, err, "query entities")
	}
	if s == nil {
		return out, "", nil
	}
	return out, *s, nil
}
