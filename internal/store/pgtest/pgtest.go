// Package pgtest creates throwaway PostgreSQL databases for tests on the
// server that ATRIUM_TEST_POSTGRES names. It depends on nothing of
// Atrium's, so that the tests of any package can use it without a cycle.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Env names the environment variable holding the connection string of a
// PostgreSQL server for tests.
const Env = "ATRIUM_TEST_POSTGRES"

// Admin returns the server's connection string, or "" when Env is unset
// outside CI. In CI (CI non-empty) an unset Env fails the test: CI must
// run the PostgreSQL tests.
func Admin(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(Env)
	if admin == "" && os.Getenv("CI") != "" {
		t.Fatalf("%s is not set; CI must run the PostgreSQL tests", Env)
	}
	return admin
}

// NewDatabase creates a fresh database on the server admin names, dropped
// when the test ends, and returns its connection string.
func NewDatabase(t testing.TB, admin string) string {
	t.Helper()
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("%s: %v", Env, err)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connecting to %s: %v", Env, err)
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

// DSN creates a fresh database (NewDatabase) and returns its connection
// string; without a server it skips the test (fails it in CI).
func DSN(t testing.TB) string {
	t.Helper()
	admin := Admin(t)
	if admin == "" {
		t.Skipf("%s is not set", Env)
	}
	return NewDatabase(t, admin)
}
