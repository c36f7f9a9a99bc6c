package authz

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/store/pgtest"
	"github.com/atrium-portal/atrium/internal/store/storetest"
	"github.com/atrium-portal/atrium/internal/store/testdb"
)

// TestTotalsOnALargerCatalog checks the total of conditional lists against
// the number of entities listed, on a synthetic catalog large enough
// (3 000 entities) that no leaf is selective, so that totals are counted
// by id sets on both engines, and for filters with a selective leaf, which
// count in SQL.
func TestTotalsOnALargerCatalog(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 3 000 entities")
	}
	t.Run("sqlite", func(t *testing.T) { testTotals(t, testdb.SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { testTotals(t, testdb.Postgres(t)) })
}

func testTotals(t *testing.T, db store.Driver) {
	ctx := context.Background()
	const n = 3000
	if err := storetest.Load(ctx, db, 0, n, n, 1000); err != nil {
		t.Fatal(err)
	}
	team := "group:default/team-0001"
	filters := map[string]*catalog.Filter{
		"deny a tag":        catalog.All(catalog.In("kind", "component"), catalog.Not(catalog.In("metadata.tags", "payments"))),
		"owners or prod":    catalog.All(catalog.In("kind", "component"), catalog.Any(catalog.In("relations.ownedby", team), catalog.In("spec.lifecycle", "production"))),
		"not (a or b)":      catalog.Not(catalog.Any(catalog.In("metadata.tags", "go"), catalog.In("kind", "api"))),
		"a or not b":        catalog.Any(catalog.In("metadata.tags", "rust"), catalog.Not(catalog.In("spec.lifecycle", "deprecated"))),
		"selective owner":   catalog.All(catalog.In("relations.ownedby", team), catalog.Not(catalog.In("metadata.tags", "java"))),
		"prefix and exists": catalog.All(catalog.Prefix("metadata.name", "component-00001"), catalog.Exists("spec.system")),
		"nothing":           catalog.All(catalog.In("kind", "component"), catalog.In("kind", "api")),
	}
	checkTotals(t, db, filters, "loaded")
	// Totals after writes: the store keeps leaf id sets between counts and
	// patches them from the change log, so each round changes, deletes and
	// adds entities and counts again.
	rng := rand.New(rand.NewPCG(5, 5))
	next := n
	for round := range 4 {
		var recs []catalog.Record
		for range 40 {
			i := rng.IntN(next)
			rec := storetest.Synthetic(i, n)
			rec.Hash = fmt.Sprintf("round-%d", round)
			if round%2 == 0 {
				rec = retag(rec, "metadata.tags", "payments", "rust")
			} else {
				rec = retag(rec, "spec.lifecycle", "production")
			}
			recs = append(recs, rec)
		}
		for range 10 {
			recs = append(recs, storetest.Synthetic(next, n))
			next++
		}
		if _, err := db.EntityUpsert(ctx, store.EntityUpsertParams{Records: recs}); err != nil {
			t.Fatal(err)
		}
		var gone []string
		for range 15 {
			gone = append(gone, storetest.SyntheticRef(rng.IntN(next)))
		}
		if err := db.EntityDelete(ctx, gone); err != nil {
			t.Fatal(err)
		}
		checkTotals(t, db, filters, fmt.Sprintf("after write %d", round+1))
	}
}

// retag replaces the search rows of key in rec with values.
func retag(rec catalog.Record, key string, values ...string) catalog.Record {
	rows := rec.Search[:0:0]
	for _, r := range rec.Search {
		if r.Key != key {
			rows = append(rows, r)
		}
	}
	for _, v := range values {
		rows = append(rows, catalog.SearchRow{Key: key, Value: v, Original: v})
	}
	rec.Search = rows
	return rec
}

// checkTotals compares the total of a 5-item page with the number of
// entities a list without a limit returns, for each filter.
func checkTotals(t *testing.T, db store.Driver, filters map[string]*catalog.Filter, when string) {
	t.Helper()
	ctx := context.Background()
	for name, f := range filters {
		all, err := db.EntityList(ctx, store.EntityListParams{Filter: f})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		page, err := db.EntityList(ctx, store.EntityListParams{Filter: f, Limit: 5, CountTotal: true, Order: &store.Order{Field: "metadata.name"}})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if page.Total != len(all.Items) {
			t.Errorf("%s, %s (%s): got total %d, want %d", when, name, FilterString(f), page.Total, len(all.Items))
		}
	}
}

// TestTotalsWhenTheLogCannotSay checks totals after writes that the
// stores' entity change log cannot describe, so that the cached leaf sets
// must be read again: on SQLite a gap in the log (what pruning leaves
// behind for a reader that fell behind), on PostgreSQL a TRUNCATE (a
// restore into a running server) followed by a smaller catalog.
func TestTotalsWhenTheLogCannotSay(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 3 000 entities")
	}
	ctx := context.Background()
	const n = 3000
	filters := map[string]*catalog.Filter{
		"deny a tag":     catalog.All(catalog.In("kind", "component"), catalog.Not(catalog.In("metadata.tags", "payments"))),
		"owners or prod": catalog.All(catalog.In("kind", "component"), catalog.Any(catalog.In("relations.ownedby", "group:default/team-0001"), catalog.In("spec.lifecycle", "production"))),
		"not (a or b)":   catalog.Not(catalog.Any(catalog.In("metadata.tags", "go"), catalog.In("kind", "api"))),
	}
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "authz.db")
		db := testdb.SQLiteAt(t, path)
		if err := storetest.Load(ctx, db, 0, n, n, 1000); err != nil {
			t.Fatal(err)
		}
		checkTotals(t, db, filters, "loaded")
		var recs []catalog.Record
		for i := 0; i < 600; i += 10 {
			rec := retag(storetest.Synthetic(i, n), "metadata.tags", "payments")
			rec = retag(rec, "spec.lifecycle", "deprecated")
			rec.Hash = "changed"
			recs = append(recs, rec)
		}
		if _, err := db.EntityUpsert(ctx, store.EntityUpsertParams{Records: recs}); err != nil {
			t.Fatal(err)
		}
		raw, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		res, err := raw.ExecContext(ctx, "DELETE FROM entity_changes WHERE seq <= (SELECT max(seq) - 10 FROM entity_changes)")
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := res.RowsAffected(); n < 50 {
			t.Fatalf("removed %d changes from the log, want at least 50", n)
		}
		checkTotals(t, db, filters, "after a gap in the log")
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := pgtest.DSN(t)
		db := testdb.PostgresAt(t, dsn)
		if err := storetest.Load(ctx, db, 0, n, n, 1000); err != nil {
			t.Fatal(err)
		}
		checkTotals(t, db, filters, "loaded")
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "TRUNCATE entities, search, relations, entity_text"); err != nil {
			t.Fatal(err)
		}
		if err := storetest.Load(ctx, db, 1000, 2000, n, 1000); err != nil {
			t.Fatal(err)
		}
		checkTotals(t, db, filters, "after a truncation")
	})
}
