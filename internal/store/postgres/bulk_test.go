package postgres

import (
	"context"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
)

// indexDefs returns the definitions of the schema's indexes, sorted.
func indexDefs(t testing.TB, db *DB) []string {
	t.Helper()
	rows, err := db.pool.Query(context.Background(), "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY indexname")
	if err != nil {
		t.Fatal(err)
	}
	defs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return defs
}

func TestSecondaryIndexesMatchMigrations(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	want := indexDefs(t, db)

	began, err := db.BulkBegin(ctx)
	if err != nil || !began {
		t.Fatalf("BulkBegin: got %v, %v, want true, nil", began, err)
	}
	// Every listed index exists in the migrations: each one was dropped.
	if got := len(indexDefs(t, db)); got != len(want)-len(secondaryIndexes) {
		t.Errorf("indexes during a bulk load: got %v, want %v", got, len(want)-len(secondaryIndexes))
	}
	// A process that dies here leaves the indexes missing: Migrate builds them.
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if got := indexDefs(t, db); !slices.Equal(got, want) {
		t.Errorf("after Migrate: got %v, want %v", got, want)
	}

	if _, err := db.BulkBegin(ctx); err != nil {
		t.Fatal(err)
	}
	// Upserts commit asynchronously only while the load lasts.
	if !db.bulk.Load() {
		t.Errorf("bulk load flag during a bulk load: got false, want true")
	}
	if err := db.BulkEnd(ctx); err != nil {
		t.Fatal(err)
	}
	if db.bulk.Load() {
		t.Errorf("bulk load flag after BulkEnd: got true, want false")
	}
	if got := indexDefs(t, db); !slices.Equal(got, want) {
		t.Errorf("after BulkEnd: got %v, want %v", got, want)
	}
}

// TestVacuumAfterBulkLoad: the end of a bulk load vacuums the loaded
// tables in the background (the visibility map of a freshly loaded table
// is empty, so index-only scans would read the table), and Close waits
// for it.
func TestVacuumAfterBulkLoad(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if began, err := db.BulkBegin(ctx); err != nil || !began {
		t.Fatalf("BulkBegin: got %v, %v, want true, nil", began, err)
	}
	if err := db.BulkEnd(ctx); err != nil {
		t.Fatal(err)
	}
	db.bg.Wait()
	for _, table := range []string{"entities", "relations", "search", "entity_text"} {
		var vacuumed bool
		err := db.pool.QueryRow(ctx, "SELECT last_vacuum IS NOT NULL FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname = $1", table).Scan(&vacuumed)
		if err != nil {
			t.Fatal(err)
		}
		if !vacuumed {
			t.Errorf("%s: not vacuumed after the bulk load", table)
		}
	}
	// The connection that vacuumed got its statement timeout back.
	var timeout string
	if err := db.pool.QueryRow(ctx, "SHOW statement_timeout").Scan(&timeout); err != nil || timeout == "0" {
		t.Errorf("statement_timeout after the vacuum: got %q, %v", timeout, err)
	}
}
