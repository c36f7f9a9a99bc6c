package postgres

import (
	"context"
	"slices"

	"github.com/jackc/pgx/v5"
)

// insertEdges inserts children in key order: both indexes of edges then
// take them in order (the root Location of a large catalog has one child
// per entity; 100,000 children in the order given took 4.9 s, sorted 1.1 s).
const insertEdges = `INSERT INTO edges (parent, child) SELECT $1, c FROM unnest($2::text[]) AS c ORDER BY c ON CONFLICT DO NOTHING`

// EdgeReplace sets the children parent emitted and returns those it no
// longer emits, sorted.
func (db *DB) EdgeReplace(ctx context.Context, parent string, children []string) ([]string, error) {
	var removed []string
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if err := db.bulkSettings(ctx, tx); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "DELETE FROM edges WHERE parent = $1 AND NOT (child = ANY($2)) RETURNING child", parent, nonNil(children))
		if err != nil {
			return dbErr(ctx, err, "edge replace")
		}
		if removed, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return dbErr(ctx, err, "edge replace")
		}
		if _, err := tx.Exec(ctx, insertEdges, parent, nonNil(children)); err != nil {
			return dbErr(ctx, err, "edge replace")
		}
		return nil
	})
	if err != nil {
		return nil, dbErr(ctx, err, "edge replace")
	}
	if removed == nil {
		removed = []string{}
	}
	slices.Sort(removed)
	return removed, nil
}

// EdgeAdd adds parent→child edges, keeping the others.
func (db *DB) EdgeAdd(ctx context.Context, parent string, children []string) error {
	if _, err := db.pool.Exec(ctx, insertEdges, parent, nonNil(children)); err != nil {
		return dbErr(ctx, err, "edge add")
	}
	return nil
}

// EdgeRemove removes parent→child edges.
func (db *DB) EdgeRemove(ctx context.Context, parent string, children []string) error {
	if _, err := db.pool.Exec(ctx, "DELETE FROM edges WHERE parent = $1 AND child = ANY($2)", parent, nonNil(children)); err != nil {
		return dbErr(ctx, err, "edge remove")
	}
	return nil
}

// EdgeParents returns the sorted parents of each ref that has any.
func (db *DB) EdgeParents(ctx context.Context, refs []string) (map[string][]string, error) {
	out := map[string][]string{}
	rows, err := db.pool.Query(ctx, "SELECT child, parent FROM edges WHERE child = ANY($1) ORDER BY child, parent", nonNil(refs))
	if err != nil {
		return nil, dbErr(ctx, err, "read edge parents")
	}
	var child, parent string
	if _, err := pgx.ForEachRow(rows, []any{&child, &parent}, func() error {
		out[child] = append(out[child], parent)
		return nil
	}); err != nil {
		return nil, dbErr(ctx, err, "read edge parents")
	}
	return out, nil
}

// EdgeChildren returns the sorted children of parent.
func (db *DB) EdgeChildren(ctx context.Context, parent string) ([]string, error) {
	return db.strings(ctx, "SELECT child FROM edges WHERE parent = $1 ORDER BY child", parent)
}

// nonNil turns a nil slice into an empty one, which pgx sends as an empty
// array rather than NULL (NOT (x = ANY(NULL)) would be NULL, not true).
func nonNil(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}
