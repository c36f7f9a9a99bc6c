package apptest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// PostgresEnv names the environment variable holding the connection string
// of a PostgreSQL server for tests. Each test gets a fresh database on it.
const PostgresEnv = "ATRIUM_TEST_POSTGRES"

// Database is one database engine an end-to-end test runs against.
type Database struct {
	Name string
	// YAML is the backend.database section for it.
	YAML string
}

// Databases returns SQLite, plus PostgreSQL when ATRIUM_TEST_POSTGRES is
// set. Without it PostgreSQL is skipped, except in CI (CI non-empty), where
// its absence fails the test. Each call creates fresh PostgreSQL databases.
func Databases(t testing.TB) []Database {
	t.Helper()
	dbs := []Database{{Name: "sqlite", YAML: ""}}
	if dsn := PostgresDSN(t); dsn != "" {
		dbs = append(dbs, Database{Name: "postgres", YAML: "backend:\n  database:\n    client: pg\n    connection: '" + dsn + "'\n"})
	}
	return dbs
}

// PostgresDSN creates a fresh database on the ATRIUM_TEST_POSTGRES server,
// dropped when the test ends, and returns its connection string. It returns
// "" when the variable is unset outside CI, and fails the test in CI.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(PostgresEnv)
	if admin == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set; CI must run the PostgreSQL tests", PostgresEnv)
		}
		t.Logf("%s is not set; PostgreSQL is skipped", PostgresEnv)
		return ""
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("%s: %v", PostgresEnv, err)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connecting to %s: %v", PostgresEnv, err)
	}
	defer conn.Close(ctx)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "atrium_test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("creating database %s: %v", name, err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("dropping database %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}
