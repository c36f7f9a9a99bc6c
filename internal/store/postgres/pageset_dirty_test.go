package postgres

import (
	"context"
	"slices"
	"strconv"
	"testing"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/store"
)

// TestEntityChangesDirty checks the list a deferred page probes instead of
// testing its cached sets (entity_changes_dirty, migration 0910): the
// ids logged past the frontier, the pending ones, the sources of the
// relation rows of the given types that they originate and the cached
// pairs whose origin is among them; NULL (every row probed) when the log
// was pruned at or past the frontier, holds more than 1000 rows or a
// truncation.
func TestEntityChangesDirty(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	write := func(recs ...catalog.Record) {
		t.Helper()
		if _, err := db.EntityUpsert(ctx, store.EntityUpsertParams{Records: recs}); err != nil {
			t.Fatal(err)
		}
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.pool.Exec(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	// The frontier is the next transaction id: pgFrontier would stay
	// below transactions of other tests running in this database, and so
	// take in this test's earlier writes.
	frontier := func() string {
		t.Helper()
		var s string
		if err := db.pool.QueryRow(ctx, "SELECT pg_snapshot_xmax(pg_current_snapshot())::text").Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	id := func(name string) int64 {
		t.Helper()
		var n int64
		if err := db.pool.QueryRow(ctx, "SELECT id FROM entities WHERE ref = $1", "component:default/"+name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// dirty returns the function's answer, sorted, and whether it was
	// NULL.
	dirty := func(front string, pending []int64, types []string, origins, sources []int64) ([]int64, bool) {
		t.Helper()
		var out []int64
		var isNull bool
		err := db.pool.QueryRow(ctx, "SELECT d, d IS NULL FROM entity_changes_dirty($1::text::xid8, $2::bigint[], $3::text[], $4::bigint[], $5::bigint[]) d",
			front, pending, types, origins, sources).Scan(&out, &isNull)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(out)
		return out, isNull
	}
	check := func(what string, got []int64, isNull bool, want []int64) {
		t.Helper()
		slices.Sort(want)
		if isNull || !slices.Equal(got, want) {
			t.Errorf("%s: got %v (NULL %v), want %v", what, got, isNull, want)
		}
	}
	checkNull := func(what string, got []int64, isNull bool) {
		t.Helper()
		if !isNull {
			t.Errorf("%s: got %d ids, want NULL", what, len(got))
		}
	}

	// b originates a relation whose source is x: a write of b may change
	// x's membership of a relation leaf of that type.
	b := component("b", "group:default/mine", "production")
	b.Relations = append(b.Relations, catalog.RelationRow{Source: "component:default/x", Type: "dependencyOf", Target: b.Ref})
	write(component("a", "group:default/mine", "production"), b, component("c", "group:default/other", "production"),
		component("x", "group:default/other", "experimental"))
	a, bID, c, x := id("a"), id("b"), id("c"), id("x")
	none, noTypes := []int64{}, []string{}

	front := frontier()
	got, isNull := dirty(front, none, noTypes, none, none)
	check("nothing written", got, isNull, none)
	got, isNull = dirty(front, []int64{a}, noTypes, none, none)
	check("pending only", got, isNull, []int64{a})

	b.Hash = "changed"
	write(b)
	got, isNull = dirty(front, none, noTypes, none, none)
	check("b written", got, isNull, []int64{bID})
	got, isNull = dirty(front, []int64{a}, []string{"dependencyof"}, none, none)
	check("b written, relation type", got, isNull, []int64{a, bID, x})
	got, isNull = dirty(front, none, []string{"ownedby"}, none, none)
	check("b written, its own relation type", got, isNull, []int64{bID, bID})
	got, isNull = dirty(front, none, noTypes, []int64{bID, a}, []int64{c, x})
	check("b written, cached pairs", got, isNull, []int64{bID, c})

	// Past 1000 logged rows the log cannot say.
	var n int
	if err := db.pool.QueryRow(ctx, "SELECT count(*) FROM entity_changes WHERE xid >= $1::text::xid8", front).Scan(&n); err != nil {
		t.Fatal(err)
	}
	exec("INSERT INTO entity_changes (entity_id) SELECT $1::bigint FROM generate_series(1, $2::int)", c, 1000-n)
	got, isNull = dirty(front, none, noTypes, none, none)
	if isNull || len(got) != 1000 {
		t.Errorf("1000 logged: got %d ids (NULL %v), want 1000", len(got), isNull)
	}
	exec("INSERT INTO entity_changes (entity_id) VALUES ($1)", c)
	got, isNull = dirty(front, none, noTypes, none, none)
	checkNull("1001 logged", got, isNull)

	// Pruned at or past the frontier.
	front = frontier()
	got, isNull = dirty(front, none, noTypes, none, none)
	check("new frontier", got, isNull, none)
	exec("UPDATE entity_changes_pruned SET below = $1::text::xid8", front)
	got, isNull = dirty(front, none, noTypes, none, none)
	checkNull("pruned at the frontier", got, isNull)
	f, err := strconv.ParseUint(front, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	exec("UPDATE entity_changes_pruned SET below = $1::text::xid8", strconv.FormatUint(f-1, 10))
	got, isNull = dirty(front, none, noTypes, none, none)
	check("pruned below the frontier", got, isNull, none)

	// A truncation logs -1.
	exec("INSERT INTO entity_changes (entity_id) VALUES (-1)")
	got, isNull = dirty(front, none, noTypes, none, none)
	checkNull("truncated", got, isNull)
}
