package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// appendRows runs query on pool and appends every row, read with scan, to
// dst; what names the rows in errors ("list tasks", "read tasks").
func appendRows[T any](ctx context.Context, pool *pgxpool.Pool, dst []T, what, query string, args []any, scan func(pgx.Row) (T, error)) ([]T, error) {
	rows, err := pool.Query(ctx, query, args...)
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
