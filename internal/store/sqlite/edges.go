package sqlite

import (
	"context"
	"database/sql"
	"slices"

	"github.com/atrium-portal/atrium/internal/store/sqlplan"
)

// EdgeReplace sets the children parent emitted and returns those it no
// longer emits, sorted.
func (db *DB) EdgeReplace(ctx context.Context, parent string, children []string) ([]string, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, dbErr(ctx, err, "begin edge replace")
	}
	defer tx.Rollback()
	current, err := db.strings(ctx, tx, "SELECT child FROM edges WHERE parent = ? ORDER BY child", parent)
	if err != nil {
		return nil, err
	}
	keep := make(map[string]bool, len(children))
	for _, c := range children {
		keep[c] = true
	}
	removed := []string{}
	var gone []any
	for _, c := range current {
		if !keep[c] {
			removed = append(removed, c)
			gone = append(gone, c)
		}
	}
	if err := deleteIn(ctx, tx, "DELETE FROM edges WHERE parent = ? AND child IN ", gone, parent); err != nil {
		return nil, err
	}
	if err := insertEdges(ctx, tx, parent, children); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, dbErr(ctx, err, "commit edge replace")
	}
	return removed, nil
}

// EdgeAdd adds parent→child edges, keeping the others.
func (db *DB) EdgeAdd(ctx context.Context, parent string, children []string) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return dbErr(ctx, err, "begin edge add")
	}
	defer tx.Rollback()
	if err := insertEdges(ctx, tx, parent, children); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return dbErr(ctx, err, "commit edge add")
	}
	return nil
}

// EdgeRemove removes parent→child edges.
func (db *DB) EdgeRemove(ctx context.Context, parent string, children []string) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return dbErr(ctx, err, "begin edge remove")
	}
	defer tx.Rollback()
	if err := deleteIn(ctx, tx, "DELETE FROM edges WHERE parent = ? AND child IN ", anys(children), parent); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return dbErr(ctx, err, "commit edge remove")
	}
	return nil
}

func insertEdges(ctx context.Context, tx *sql.Tx, parent string, children []string) error {
	b := bulk{head: "INSERT OR IGNORE INTO edges (parent, child) VALUES ", cols: 2}
	for _, c := range children {
		b.add(parent, c)
	}
	return b.flush(ctx, tx)
}

// EdgeParents returns the sorted parents of each ref that has any.
func (db *DB) EdgeParents(ctx context.Context, refs []string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, c := range sqlplan.Chunks(len(refs), chunk) {
		part := refs[c[0]:c[1]]
		rows, err := db.read.QueryContext(ctx, "SELECT child, parent FROM edges WHERE child IN "+marks(len(part))+
			" ORDER BY child, parent", anys(part)...)
		if err != nil {
			return nil, dbErr(ctx, err, "read edge parents")
		}
		for rows.Next() {
			var child, parent string
			if err := rows.Scan(&child, &parent); err != nil {
				rows.Close()
				return nil, dbErr(ctx, err, "read edge parents")
			}
			out[child] = append(out[child], parent)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, dbErr(ctx, err, "read edge parents")
		}
	}
	for k, v := range out {
		out[k] = slices.Compact(v)
	}
	return out, nil
}

// EdgeChildren returns the sorted children of parent.
func (db *DB) EdgeChildren(ctx context.Context, parent string) ([]string, error) {
	return db.strings(ctx, db.read, "SELECT child FROM edges WHERE parent = ? ORDER BY child", parent)
}
