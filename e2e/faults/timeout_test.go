package faults

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/atrium-portal/atrium/internal/store/postgres"
	"github.com/atrium-portal/atrium/internal/store/sqlite"
)

// TestPostgresStatementTimeout: backend.database.statementTimeout becomes
// statement_timeout on every connection of the pool, and a statement
// running longer is cancelled by the server (SQLSTATE 57014).
func TestPostgresStatementTimeout(t *testing.T) {
	dsn := postgresDSN(t)
	ctx := context.Background()
	db, err := postgres.Open(ctx, postgres.Config{URL: dsn, MaxConns: 3, StatementTimeout: 250 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	pool := db.JobsPool()
	var conns []interface{ Release() }
	// Every connection of the main pool (the lookups take one of the 3).
	for i := range int(pool.Config().MaxConns) {
		c, err := pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		var v string
		if err := c.QueryRow(ctx, "SHOW statement_timeout").Scan(&v); err != nil {
			t.Fatal(err)
		}
		if v != "250ms" {
			t.Errorf("connection %d: statement_timeout got %q, want 250ms", i, v)
		}
	}
	for _, c := range conns {
		c.Release()
	}
	start := time.Now()
	_, err = pool.Exec(ctx, "SELECT pg_sleep(3)")
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "57014" {
		t.Fatalf("a 3 s statement: got %v, want SQLSTATE 57014 (statement timeout)", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the statement was cancelled after %v, want about 250ms", d)
	}
}

// TestSQLiteStatementDeadline: on SQLite a running statement stops at its
// context's deadline (the request deadline, atrium.limits.requestTimeout),
// not when it would have finished.
func TestSQLiteStatementDeadline(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "atrium.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	qctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	var n int64
	err = db.JobsDB().QueryRowContext(qctx,
		"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000000) SELECT count(*) FROM c").Scan(&n)
	if err == nil {
		t.Fatalf("a statement counting to two billion finished (%d) instead of stopping at its deadline", n)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the statement stopped after %v, want about 200ms", d)
	}
}
