package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/atrium-portal/atrium/internal/store/sqlplan"
)

var (
	_ sqlplan.CachingRunner = runner{}
	_ sqlplan.GenericRunner = runner{}
)

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

// TextGeneric runs a query returning one text value under a generic plan;
// see sqlplan.GenericRunner and DB.queryGeneric.
func (r runner) TextGeneric(ctx context.Context, query string, args []any) (string, error) {
	var s *string
	err := r.db.queryGeneric(ctx, query, args, func(rows pgx.Rows) error {
		if !rows.Next() {
			if err := rows.Err(); err != nil {
				return err
			}
			return pgx.ErrNoRows
		}
		return rows.Scan(&s)
	})
	if err != nil {
		return "", dbErr(ctx, err, "count entities")
	}
	if s == nil {
		return "", nil
	}
	return *s, nil
}

// queryGeneric runs query under a generic plan and hands its rows to fn.
// The pool's sessions plan every execution (plan_cache_mode
// force_custom_plan, see Open), which a statement whose best plan does not
// depend on its values pays for nothing: set_config with is_local lifts
// that for this statement alone. The batch is one implicit transaction,
// which ends at its Sync, so the setting never outlives it. The statement
// is then planned once per connection instead of on every run (0.8 ms of
// a 1 ms patch of three leaves at 100k entities). A generic plan cannot
// see its values, so its row estimates can be far off (34,000 changed ids
// guessed for a handful); JIT is turned off for the statement too, or such
// a guess makes it compile on every run (3–5 s instead of 0.15 ms).
func (db *DB) queryGeneric(ctx context.Context, query string, args []any, fn func(pgx.Rows) error) error {
	return db.sendPage(ctx, query, func(b *pgx.Batch, sql string) {
		b.Queue("SELECT set_config('plan_cache_mode', 'force_generic_plan', true), set_config('jit', 'off', true)")
		b.Queue(sql, args...).Query(fn)
	})
}
