// Package testdb opens migrated stores for tests: SQLite in a file of
// the test's own, PostgreSQL on a fresh database of pgtest's server. Each
// is closed when the test ends.
//
// The store packages' own tests cannot use it (it imports them); their
// openTest helpers stay.
package testdb

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/atrium-portal/atrium/internal/store/pgtest"
	"github.com/atrium-portal/atrium/internal/store/postgres"
	"github.com/atrium-portal/atrium/internal/store/sqlite"
)

// SQLite opens a migrated SQLite store in a new file under t.TempDir().
func SQLite(t testing.TB) *sqlite.DB {
	t.Helper()
	return SQLiteAt(t, filepath.Join(t.TempDir(), "atrium.db"))
}

// SQLiteAt opens a migrated SQLite store in the file at path.
func SQLiteAt(t testing.TB, path string) *sqlite.DB {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, sqlite.Config{Path: path})
	if err != nil {
		t.Fatalf("opening SQLite at %s: %v", path, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrating SQLite at %s: %v", path, err)
	}
	return db
}

// Postgres opens a migrated PostgreSQL store on a fresh database
// (pgtest.DSN): without a server it skips the test, in CI it fails it.
func Postgres(t testing.TB) *postgres.DB {
	t.Helper()
	return PostgresAt(t, pgtest.DSN(t))
}

// PostgresAt opens a migrated PostgreSQL store on dsn.
func PostgresAt(t testing.TB, dsn string) *postgres.DB {
	t.Helper()
	ctx := context.Background()
	db, err := postgres.Open(ctx, postgres.Config{URL: dsn})
	if err != nil {
		t.Fatalf("opening PostgreSQL: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrating PostgreSQL: %v", err)
	}
	return db
}
