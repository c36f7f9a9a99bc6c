package sqlite

import (
	"context"
	"database/sql"
)

// rowScanner is one row: *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

// appendRows runs query on db and appends every row, read with scan, to
// dst; what names the rows in errors ("list tasks", "read tasks").
func appendRows[T any](ctx context.Context, db *sql.DB, dst []T, what, query string, args []any, scan func(rowScanner) (T, error)) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, dbErr(ctx, err, "list "+what)
	}
	defer rows.Close()
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, dbErr(ctx, err, "read "+what)
		}
		dst = append(dst, v)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(ctx, err, "list "+what)
	}
	return dst, nil
}
