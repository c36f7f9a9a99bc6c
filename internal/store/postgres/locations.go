package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

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
	tag, err := db.pool.Exec(ctx, "INSERT INTO locations (id, type, target, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
		l.ID, l.Type, l.Target, created)
	if err != nil {
		return dbErr(ctx, err, "create location")
	}
	if tag.RowsAffected() == 0 {
		return fault.New(fault.Conflict, "Location %s:%s already exists", l.Type, l.Target)
	}
	return nil
}

// LocationList returns every location, oldest first.
func (db *DB) LocationList(ctx context.Context) ([]store.Location, error) {
	rows, err := db.pool.Query(ctx, "SELECT id, type, target, created_at FROM locations ORDER BY created_at, id")
	if err != nil {
		return nil, dbErr(ctx, err, "list locations")
	}
	out := []store.Location{}
	var l store.Location
	if _, err := pgx.ForEachRow(rows, []any{&l.ID, &l.Type, &l.Target, &l.CreatedAt}, func() error {
		l.CreatedAt = l.CreatedAt.UTC()
		out = append(out, l)
		return nil
	}); err != nil {
		return nil, dbErr(ctx, err, "list locations")
	}
	return out, nil
}

// LocationGet returns one location; fault.NotFound when absent.
func (db *DB) LocationGet(ctx context.Context, id string) (*store.Location, error) {
	var l store.Location
	err := db.pool.QueryRow(ctx, "SELECT id, type, target, created_at FROM locations WHERE id = $1", id).
		Scan(&l.ID, &l.Type, &l.Target, &l.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fault.New(fault.NotFound, "Found no location with ID %s", id)
	}
	if err != nil {
		return nil, dbErr(ctx, err, "get location")
	}
	l.CreatedAt = l.CreatedAt.UTC()
	return &l, nil
}

// LocationDelete removes one location; fault.NotFound when absent.
func (db *DB) LocationDelete(ctx context.Context, id string) error {
	tag, err := db.pool.Exec(ctx, "DELETE FROM locations WHERE id = $1", id)
	if err != nil {
		return dbErr(ctx, err, "delete location")
	}
	if tag.RowsAffected() == 0 {
		return fault.New(fault.NotFound, "Found no location with ID %s", id)
	}
	return nil
}
