package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/store/sqlplan"
)

// TestFacetsWithinKindsReadNoEntityRow checks that search facets within
// nothing but kinds (a catalog page's pickers) are counted from the search
// index alone: with the entities table locked by another session they
// still answer, where a query that reads entity rows for their kind would
// wait for the lock and fail on the lock timeout.
func TestFacetsWithinKindsReadNoEntityRow(t *testing.T) {
	ctx := context.Background()
	base := testURL(t)
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	db, drop, err := openSchema(ctx, base+sep+"lock_timeout=200")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Error(err)
		}
	})
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var recs []catalog.Record
	for i, kind := range []string{"Component", "Component", "API"} {
		name := fmt.Sprintf("e%d", i)
		ref := strings.ToLower(kind) + ":default/" + name
		recs = append(recs, catalog.Record{
			UID: fmt.Sprintf("u%d", i), Ref: ref, Kind: kind, Namespace: "default", Name: name,
			Body: []byte(`{"kind":"` + kind + `","metadata":{"name":"` + name + `"}}`), Hash: "h",
			Search: []catalog.SearchRow{
				{Key: "kind", Value: strings.ToLower(kind), Original: kind},
				{Key: "metadata.tags", Value: "go", Original: "Go"},
			},
		})
	}
	if _, err := db.EntityUpsert(ctx, store.EntityUpsertParams{Records: recs}); err != nil {
		t.Fatal(err)
	}
	var schema string
	if err := db.pool.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		t.Fatal(err)
	}

	locker, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Close(ctx)
	tx, err := locker.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // the lock ends with the test
	if _, err := tx.Exec(ctx, "LOCK TABLE "+schema+".entities IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}

	got, err := db.EntityFacets(ctx, store.EntityFacetsParams{
		Facets: []string{"metadata.tags", "kind"},
		Filter: catalog.In("kind", "component"),
	})
	if err != nil {
		t.Fatalf("EntityFacets with the entities table locked: %v", err)
	}
	if tags := got["metadata.tags"]; len(tags) != 1 || tags[0] != (store.FacetCount{Value: "Go", Count: 2}) {
		t.Errorf("metadata.tags: got %v, want [{Go 2}]", tags)
	}
	if kinds := got["kind"]; len(kinds) != 1 || kinds[0] != (store.FacetCount{Value: "Component", Count: 2}) {
		t.Errorf("kind: got %v, want [{Component 2}]", kinds)
	}
}

// TestSearchLeafEstimate checks that the planner estimates a search leaf
// (key and value) from their joint frequency: with key and value taken as
// independent, a common pair (kind = component, half the entities) is
// estimated at a quarter of its rows, which made pages of one kind and
// type sort every match instead of walking the kind by name.
func TestSearchLeafEstimate(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	const n = 4000
	if _, err := db.pool.Exec(ctx, `INSERT INTO search (entity_id, key, value, original, is_min)
		SELECT i, k.key, CASE k.key WHEN 'kind' THEN (CASE WHEN i % 2 = 0 THEN 'component' ELSE 'user' END)
			WHEN 'spec.type' THEN 'service' ELSE k.key || i END, '', true
		FROM generate_series(1, $1::int) AS i,
			(VALUES ('kind'), ('spec.type'), ('metadata.name'), ('metadata.uid')) AS k (key)`, n); err != nil {
		t.Fatal(err)
	}
	if _, err := db.pool.Exec(ctx, "ANALYZE search"); err != nil {
		t.Fatal(err)
	}
	var plan []struct {
		Plan struct {
			Rows float64 `json:"Plan Rows"`
		} `json:"Plan"`
	}
	if err := db.pool.QueryRow(ctx, "EXPLAIN (FORMAT JSON) SELECT entity_id FROM search WHERE key = 'kind' AND value = ANY('{component}'::text[])").Scan(&plan); err != nil {
		t.Fatal(err)
	}
	if len(plan) != 1 {
		t.Fatalf("got %d plans, want 1", len(plan))
	}
	if got, want := plan[0].Plan.Rows, float64(n/2); got < want/2 || got > want*2 {
		t.Errorf("estimated rows of kind = component: got %v, want about %v", got, want)
	}
}

// TestKindFacetsFromCachedSets checks that search facets within nothing
// but kinds test the kinds' cached id set a bit per row, and that a write
// landing between reading the set and running the facet's statement is
// counted all the same (the statement falls back to the kind rows).
func TestKindFacetsFromCachedSets(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	recs := []catalog.Record{
		component("a", "group:default/team-a", "production"),
		component("b", "group:default/team-b", "production"),
		component("c", "group:default/team-a", "experimental"),
	}
	if _, err := db.EntityUpsert(ctx, store.EntityUpsertParams{Records: recs}); err != nil {
		t.Fatal(err)
	}
	filter := catalog.In("kind", "Component")
	run := func(q sqlplan.Query) []store.FacetCount {
		t.Helper()
		rows, err := db.pool.Query(ctx, q.SQL, q.Args...)
		if err != nil {
			t.Fatal(err)
		}
		out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.FacetCount, error) {
			var fc store.FacetCount
			err := r.Scan(&fc.Value, &fc.Count)
			return fc, err
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, write := range []bool{false, true} {
		queries, err := sqlplan.FacetQueries(ctx, sqlplan.Postgres, runner{db}, []string{"spec.lifecycle"}, filter)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(queries[0].SQL, "get_bit") {
			t.Fatalf("facet query: got %s, want a bit test of the cached set", queries[0].SQL)
		}
		if write {
			if _, err := db.EntityUpsert(ctx, store.EntityUpsertParams{Records: []catalog.Record{
				component("d", "group:default/team-b", "experimental"),
			}}); err != nil {
				t.Fatal(err)
			}
		}
		got := run(queries[0])
		general, err := db.EntityFacets(ctx, store.EntityFacetsParams{Facets: []string{"spec.lifecycle"},
			Filter: catalog.All(filter, catalog.Exists("kind"))})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, general["spec.lifecycle"]) {
			t.Errorf("write meanwhile %v: got %v, want %v", write, got, general["spec.lifecycle"])
		}
	}
}
