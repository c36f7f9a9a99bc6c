package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/store/pgtest"
	"github.com/atrium-portal/atrium/internal/store/storetest"
)

// testURL returns ATRIUM_TEST_POSTGRES. Without it the test is skipped,
// except under CI (CI set), where it fails: CI must never skip PostgreSQL.
func testURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("ATRIUM_TEST_POSTGRES")
	if u == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("ATRIUM_TEST_POSTGRES is not set; CI must run the PostgreSQL tests")
		}
		t.Skip("ATRIUM_TEST_POSTGRES is not set (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	return u
}

// openTest opens a driver on a fresh schema of the test database, dropped
// at cleanup, so tests can run in parallel.
func openTest(t testing.TB) *DB {
	t.Helper()
	db, drop, err := openSchema(context.Background(), testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Error(err)
		}
	})
	return db
}

// openMigrated is openTest with Atrium's tables created.
func openMigrated(t testing.TB) *DB {
	t.Helper()
	db := openTest(t)
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

// openMigratedOwn opens a migrated store in a database of its own, for
// tests of the change log's frontier: it is per database, and other
// tests' transactions in the shared test database would rightly hold it
// back.
func openMigratedOwn(t testing.TB) *DB {
	t.Helper()
	db, err := Open(context.Background(), Config{URL: pgtest.NewDatabase(t, testURL(t)), MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

// openSchema creates a schema with a random name and opens a driver whose
// search_path is that schema; drop closes the driver and drops the schema.
func openSchema(ctx context.Context, base string) (db *DB, drop func() error, err error) {
	buf := make([]byte, 6)
	rand.Read(buf)
	schema := "atrium_test_" + hex.EncodeToString(buf)
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to %s: %w", redact(base), err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return nil, nil, fmt.Errorf("create schema: %w", err)
	}
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	db, err = Open(ctx, Config{URL: base + sep + "search_path=" + schema, MaxConns: 4})
	if err != nil {
		return nil, nil, err
	}
	drop = func() error {
		db.Close()
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			return fmt.Errorf("connect for cleanup: %w", err)
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			return fmt.Errorf("drop schema %s: %w", schema, err)
		}
		return nil
	}
	return db, drop, nil
}

func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "the test database"
	}
	return u.Redacted()
}

func TestConformance(t *testing.T) {
	testURL(t)
	storetest.Run(t, func(t testing.TB) store.Driver { return openTest(t) })
}
