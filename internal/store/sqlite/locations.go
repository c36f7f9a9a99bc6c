package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
)

// LocationCreate stores a location; fault.Conflict when one with the same
// type and target (or id) exists.
func (db *DB) LocationCreate(ctx context.Context, l store.Location) error {
	if l.ID == "" || l.Type == "" || l.Target == "" {
		return fault.New(fault.Invalid, "location needs an id, a type and a target")
	}
	created := l.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return dbErr(ctx, err, "begin location create")
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM locations WHERE (type = ? AND target = ?) OR id = ?",
		l.Type, l.Target, l.ID).Scan(&n); err != nil {
		return dbErr(ctx, err, "check location")
	}
	if n > 0 {
		return fault.New(fault.Conflict, "Location %s:%s already exists", l.Type, l.Target)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO locations (id, type, target, created_at) VALUES (?, ?, ?, ?)",
		l.ID, l.Type, l.Target, created.UnixMicro()); err != nil {
		return dbErr(ctx, err, "create location")
	}
	if err := tx.Commit(); err != nil {
		return dbErr(ctx, err, "commit location create")
	}
	return nil
}

// LocationList returns every location, oldest first.
func (db *DB) LocationList(ctx context.Context) ([]store.Location, error) {
	rows, err := db.read.QueryContext(ctx, "SELECT id, type, target, created_at FROM locations ORDER BY created_at, id")
	if err != nil {
		return nil, dbErr(ctx, err, "list locations")
	}
	defer rows.Close()
	out := []store.Location{}
	for rows.Next() {
		l, err := scanLocation(rows)
		if err != nil {
			return nil, dbErr(ctx, err, "list locations")
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(ctx, err, "list locations")
	}
	return out, nil
}

// LocationGet returns one location; fault.NotFound when absent.
func (db *DB) LocationGet(ctx context.Context, id string) (*store.Location, error) {
	row := db.read.QueryRowContext(ctx, "SELECT id, type, target, created_at FROM locations WHERE id = ?", id)
	l, err := scanLocation(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fault.New(fault.NotFound, "Found no location with ID %s", id)
	}
	if err != nil {
		return nil, dbErr(ctx, err, "get location")
	}
	return &l, nil
}

// LocationDelete removes one location; fault.NotFound when absent.
func (db *DB) LocationDelete(ctx context.Context, id string) error {
	res, err := db.write.ExecContext(ctx, "DELETE FROM locations WHERE id = ?", id)
	if err != nil {
		return dbErr(ctx, err, "delete location")
	}
	if n, err := res.RowsAffected(); err != nil {
		return dbErr(ctx, err, "delete location")
	} else if n == 0 {
		return fault.New(fault.NotFound, "Found no location with ID %s", id)
	}
	return nil
}

func scanLocation(row interface{ Scan(...any) error }) (store.Location, error) {
	var l store.Location
	var created int64
	if err := row.Scan(&l.ID, &l.Type, &l.Target, &created); err != nil {
		return l, err
	}
	l.CreatedAt = time.UnixMicro(created).UTC()
	return l, nil
}
