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

var _ sqlplan.IDSetStorer = runner{}

// EntitiesGenericStoring runs the page (and textQuery after it, unless
// empty) as EntitiesGenericThenText does and then, in the same round trip,
// stores the page's id set with sqlplan.IDSetUpsert. The upsert comes last
// so that its failure (a read-only server, say) costs the page nothing:
// stored is false then, and the page's rows stand.
func (r runner) EntitiesGenericStoring(ctx context.Context, query string, args []any, textQuery string, textArgs []any, key, bits []byte) ([]*catalog.Stored, string, bool, error) {
	var out []*catalog.Stored
	var s *string
	read := false // the page and the text were read
	b := &pgx.Batch{}
	b.Queue("SELECT set_config('plan_cache_mode', 'force_generic_plan', true), set_config('jit', 'off', true)")
	b.Queue(query, args...).Query(func(rows pgx.Rows) error {
		var err error
		out, err = scanEntities(ctx, rows)
		read = err == nil && textQuery == ""
		return err
	})
	if textQuery != "" {
		b.Queue(textQuery, textArgs...).QueryRow(func(row pgx.Row) error {
			err := row.Scan(&s)
			read = err == nil
			return err
		})
	}
	b.Queue(sqlplan.IDSetUpsert, key, bits)
	if err := r.db.pool.SendBatch(ctx, b).Close(); err != nil {
		if !read || ctx.Err() != nil {
			return nil, "", false, dbErr(ctx, err, "query entities")
		}
		if s == nil {
			return out, "", false, nil
		}
		return out, *s, false, nil
	}
	if s == nil {
		return out, "", true, nil
	}
	return out, *s, true, nil
}
