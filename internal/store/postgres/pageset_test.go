package postgres

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/store/sqlplan"
)

// component returns the record of a component owned by owner.
func component(name, owner, lifecycle string) catalog.Record {
	ref := "component:default/" + name
	search := []catalog.SearchRow{
		{Key: "kind", Value: "component", Original: "Component"},
		{Key: "metadata.name", Value: name, Original: name},
		{Key: "metadata.namespace", Value: "default", Original: "default"},
		{Key: "spec.owner", Value: owner, Original: owner},
		{Key: "spec.lifecycle", Value: lifecycle, Original: lifecycle},
	}
	body := fmt.Sprintf(`{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":%q,"namespace":"default"},"spec":{"owner":%q,"lifecycle":%q}}`,
		name, owner, lifecycle)
	return catalog.Record{
		UID: "uid-" + name, Ref: ref, Kind: "Component", Namespace: "default", Name: name,
		Body: []byte(body), Hash: owner + "/" + lifecycle,
		Relations: []catalog.RelationRow{
			{Source: ref, Type: "ownedBy", Target: owner}, {Source: owner, Type: "ownerOf", Target: ref},
		},
		Search: search,
	}
}

// writeBeforePage is a runner that makes a write just before the first
// page statement runs under a generic plan: after the page's id sets were
// read, before the page reads rows.
type writeBeforePage struct {
	runner
	write   func()
	written bool
	batched bool // the page ran with the deferred read of its sets
	queries []string
}

func (w *writeBeforePage) EntitiesGeneric(ctx context.Context, query string, args []any) ([]*catalog.Stored, error) {
	w.before(query)
	return w.runner.EntitiesGeneric(ctx, query, args)
}

// EntitiesGenericThenText writes before the round trip that holds the
// page and the deferred read of its sets.
func (w *writeBeforePage) EntitiesGenericThenText(ctx context.Context, query string, args []any, textQuery string, textArgs []any) ([]*catalog.Stored, string, error) {
	w.before(query)
	w.batched = true
	return w.runner.EntitiesGenericThenText(ctx, query, args, textQuery, textArgs)
}

func (w *writeBeforePage) before(query string) {
	w.queries = append(w.queries, query)
	if !w.written {
		w.written = true
		w.write()
	}
}

// syncFirst is a writeBeforePage that cannot batch a page with the read of
// its sets (it is no sqlplan.PageBatchRunner): the page reads its sets
// first and checks in its statement that they are still current.
type syncFirst struct{ w *writeBeforePage }

func (s syncFirst) Entities(ctx context.Context, query string, args []any) ([]*catalog.Stored, error) {
	return s.w.Entities(ctx, query, args)
}

func (s syncFirst) EntitiesGeneric(ctx context.Context, query string, args []any) ([]*catalog.Stored, error) {
	return s.w.EntitiesGeneric(ctx, query, args)
}

func (s syncFirst) Count(ctx context.Context, query string, args []any) (int, error) {
	return s.w.Count(ctx, query, args)
}

func (s syncFirst) Text(ctx context.Context, query string, args []any) (string, error) {
	return s.w.Text(ctx, query, args)
}

func (s syncFirst) TextGeneric(ctx context.Context, query string, args []any) (string, error) {
	return s.w.TextGeneric(ctx, query, args)
}

func (s syncFirst) SetCache() *sqlplan.SetCache { return s.w.SetCache() }

// ownersPage is the first page, 5 by name with the total, of the
// components owned by group:default/mine or in production: an owners
// policy's shape.
func ownersPage() store.EntityListParams {
	filter := catalog.All(catalog.In("kind", "component"), catalog.Any(
		catalog.In("relations.ownedBy", "group:default/mine"),
		catalog.In("spec.lifecycle", "production"),
	))
	return store.EntityListParams{Filter: filter, Order: &store.Order{Field: "metadata.name"}, Limit: 5, CountTotal: true}
}

// componentNames returns the names of components in the default namespace.
func componentNames(items []*catalog.Stored) []string {
	var out []string
	for _, s := range items {
		out = append(out, strings.TrimPrefix(s.Ref, "component:default/"))
	}
	return out
}

// TestPageSetsFollowAWriteMeanwhile checks that a page of one kind by name
// that tests the cached id sets of its conditions instead of probing each
// row answers for the catalog its statement reads, when a write lands
// between reading the sets and the page: the entity written allowed is on
// the page, the one written out of bounds is not. Batched, the page tests
// the sets as cached before the write (the read that brings them up to
// date runs in the page's round trip); otherwise it reads them first.
func TestPageSetsFollowAWriteMeanwhile(t *testing.T) {
	for _, batched := range []bool{true, false} {
		t.Run(map[bool]string{true: "batched", false: "sets read first"}[batched], func(t *testing.T) {
			testPageSetsFollowAWrite(t, batched)
		})
	}
}

func testPageSetsFollowAWrite(t *testing.T, batched bool) {
	db := openTest(t)
	ctx := context.Background()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var recs []catalog.Record
	for i := range 12 {
		owner, life := "group:default/other", "experimental"
		switch i % 3 {
		case 0:
			owner = "group:default/mine"
		case 1:
			life = "production"
		}
		recs = append(recs, component(fmt.Sprintf("c-%02d", i), owner, life))
	}
	if _, err := db.EntityUpsert(ctx, store.EntityUpsertParams{Records: recs}); err != nil {
		t.Fatal(err)
	}
	p := ownersPage()
	names := componentNames

	// Read the sets once, so that the page below patches cached sets.
	first, err := sqlplan.List(ctx, sqlplan.Postgres, runner{db}, p)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(first.Items), []string{"c-00", "c-01", "c-03", "c-04", "c-06"}; !slices.Equal(got, want) {
		t.Fatalf("before the write: got %v, want %v", got, want)
	}

	for _, tc := range []struct {
		name  string
		write []catalog.Record
		want  []string
		total int
	}{
		{"an entity newly allowed", []catalog.Record{component("a-new", "group:default/mine", "experimental")},
			[]string{"a-new", "c-00", "c-01", "c-03", "c-04"}, 9},
		{"an entity no longer allowed", []catalog.Record{component("c-00", "group:default/other", "experimental")},
			[]string{"a-new", "c-01", "c-03", "c-04", "c-06"}, 8},
		{"an owner changed only", []catalog.Record{component("c-02", "group:default/mine", "experimental")},
			[]string{"a-new", "c-01", "c-02", "c-03", "c-04"}, 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Nothing written since the last page: the sets are current
			// and the page tests them.
			if _, err := sqlplan.List(ctx, sqlplan.Postgres, runner{db}, p); err != nil {
				t.Fatal(err)
			}
			w := &writeBeforePage{runner: runner{db}, write: func() {
				if _, err := db.EntityUpsert(ctx, store.EntityUpsertParams{Records: tc.write}); err != nil {
					t.Fatal(err)
				}
			}}
			var r sqlplan.Runner = w
			if !batched {
				r = syncFirst{w}
			}
			res, err := sqlplan.List(ctx, sqlplan.Postgres, r, p)
			if err != nil {
				t.Fatal(err)
			}
			if len(w.queries) == 0 || !strings.Contains(w.queries[0], "get_bit(") {
				t.Fatalf("the page did not test the id sets: %q", w.queries)
			}
			if w.batched != batched {
				t.Fatalf("batched: got %v, want %v", w.batched, batched)
			}
			if got := names(res.Items); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			// Read first, the sets (and so the total) are those of the
			// catalog before the write; batched, they are read after
			// the page, in the same round trip.
			if batched && res.Total != tc.total {
				t.Errorf("total: got %d, want %d", res.Total, tc.total)
			}
			// The next page, with nothing written meanwhile, tests the
			// sets alone and agrees.
			again, err := sqlplan.List(ctx, sqlplan.Postgres, runner{db}, p)
			if err != nil {
				t.Fatal(err)
			}
			if got := names(again.Items); !slices.Equal(got, tc.want) {
				t.Errorf("next page: got %v, want %v", got, tc.want)
			}
		})
	}
}

// group returns the record of a group.
func group(name string) catalog.Record {
	ref := "group:default/" + name
	return catalog.Record{
		UID: "uid-" + name, Ref: ref, Kind: "Group", Namespace: "default", Name: name,
		Body: []byte(fmt.Sprintf(`{"apiVersion":"backstage.io/v1alpha1","kind":"Group","metadata":{"name":%q,"namespace":"default"},"spec":{"type":"team"}}`, name)),
		Hash: "group",
		Search: []catalog.SearchRow{
			{Key: "kind", Value: "group", Original: "Group"},
			{Key: "metadata.name", Value: name, Original: name},
			{Key: "metadata.namespace", Value: "default", Original: "default"},
			{Key: "spec.type", Value: "team", Original: "team"},
		},
	}
}

// TestDeferredPageFollowsOtherOrigins checks a page that tests the sets as
// cached before a write (the read that brings them up to date runs in the
// page's round trip) when the write changes which entities a relation
// condition selects without writing them: a group's ownerOf relations
// originate from the components it owns, so moving a component to another
// owner lets the new owner in and the old one out, neither written. Once
// the write lands between the sets and the page; once another count
// synced the cache with the log first, so that the page's sets lag behind
// the cache's position.
func TestDeferredPageFollowsOtherOrigins(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	recs := []catalog.Record{group("g-a"), group("g-b"), group("g-c"),
		component("x", "group:default/g-a", "experimental"), component("y", "group:default/g-c", "experimental")}
	if _, err := db.EntityUpsert(ctx, store.EntityUpsertParams{Records: recs}); err != nil {
		t.Fatal(err)
	}
	filter := catalog.All(catalog.In("kind", "group"), catalog.Any(
		catalog.In("relations.ownerOf", "component:default/x"),
		catalog.In("spec.type", "special"),
	))
	p := store.EntityListParams{Filter: filter, Order: &store.Order{Field: "metadata.name"}, Limit: 5, CountTotal: true}
	list := func(t *testing.T, r sqlplan.Runner) []string {
		t.Helper()
		res, err := sqlplan.List(ctx, sqlplan.Postgres, r, p)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, s := range res.Items {
			out = append(out, strings.TrimPrefix(s.Ref, "group:default/"))
		}
		if res.Total != len(out) {
			t.Errorf("total: got %d, want %d", res.Total, len(out))
		}
		return out
	}
	move := func(t *testing.T, owner string) {
		t.Helper()
		rec := component("x", "group:default/"+owner, "experimental")
		if _, err := db.EntityUpsert(ctx, store.EntityUpsertParams{Records: []catalog.Record{rec}}); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := list(t, runner{db}), []string{"g-a"}; !slices.Equal(got, want) {
		t.Fatalf("before the write: got %v, want %v", got, want)
	}

	t.Run("written meanwhile", func(t *testing.T) {
		w := &writeBeforePage{runner: runner{db}, write: func() { move(t, "g-b") }}
		if got, want := list(t, w), []string{"g-b"}; !slices.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
		if !w.batched || len(w.queries) == 0 || !strings.Contains(w.queries[0], "get_bit(") {
			t.Fatalf("the page did not test the cached sets in a batch: %q", w.queries)
		}
		if got, want := list(t, runner{db}), []string{"g-b"}; !slices.Equal(got, want) {
			t.Errorf("next page: got %v, want %v", got, want)
		}
	})
	t.Run("synced by another count", func(t *testing.T) {
		move(t, "g-c")
		// A count of other conditions applies the write's log row to
		// the cache's position; this page's sets have not seen it.
		if _, err := sqlplan.List(ctx, sqlplan.Postgres, runner{db}, store.EntityListParams{
			Filter: catalog.In("kind", "component"), CountOnly: true}); err != nil {
			t.Fatal(err)
		}
		w := &writeBeforePage{runner: runner{db}, write: func() {}}
		if got, want := list(t, w), []string{"g-c"}; !slices.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
		if !w.batched {
			t.Fatalf("the page did not test the cached sets in a batch: %q", w.queries)
		}
	})
}

// TestPageWithoutTotalRunsAlone checks that a page that counts no total
// (the engine holds it) tests the cached sets without the read that brings
// them up to date, and still answers for the catalog its statement reads:
// after a write, and when the write lands between the sets and the page. A
// page with the total then reads the sets and counts what the writes left.
func TestPageWithoutTotalRunsAlone(t *testing.T) {
	db := openMigrated(t)
	ctx := context.Background()
	upsertOwnedComponents(t, db)
	p := ownersPage()
	write := func(t *testing.T, rec catalog.Record) {
		t.Helper()
		if _, err := db.EntityUpsert(ctx, store.EntityUpsertParams{Records: []catalog.Record{rec}}); err != nil {
			t.Fatal(err)
		}
	}
	page := func(t *testing.T, r sqlplan.Runner, p store.EntityListParams) store.EntityListResult {
		t.Helper()
		res, err := sqlplan.List(ctx, sqlplan.Postgres, r, p)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	names := componentNames
	// Read the sets, so that the pages below test cached sets.
	if got, want := names(page(t, runner{db}, p).Items), []string{"c-00", "c-03", "c-06"}; !slices.Equal(got, want) {
		t.Fatalf("before the writes: got %v, want %v", got, want)
	}
	noTotal := p
	noTotal.CountTotal = false

	write(t, component("c-01", "group:default/mine", "experimental"))
	w := &writeBeforePage{runner: runner{db}, write: func() {
		write(t, component("c-00", "group:default/other", "experimental"))
		write(t, component("a-new", "group:default/other", "production"))
	}}
	res := page(t, w, noTotal)
	if len(w.queries) != 1 || !strings.Contains(w.queries[0], "get_bit(") {
		t.Fatalf("the page did not test the id sets in one statement: %q", w.queries)
	}
	if w.batched {
		t.Errorf("a page without a total ran the read of its sets")
	}
	want := []string{"a-new", "c-01", "c-03", "c-06"}
	if got := names(res.Items); !slices.Equal(got, want) {
		t.Errorf("without a total: got %v, want %v", got, want)
	}
	if res.Total != 0 {
		t.Errorf("without a total: total %d, want 0", res.Total)
	}
	// The next page without a total has nothing new to test; the one
	// with the total reads the sets the writes changed.
	if got := names(page(t, runner{db}, noTotal).Items); !slices.Equal(got, want) {
		t.Errorf("next page without a total: got %v, want %v", got, want)
	}
	w = &writeBeforePage{runner: runner{db}, write: func() {}}
	res = page(t, w, p)
	if !w.batched {
		t.Errorf("a page with the total did not read its sets in its round trip: %q", w.queries)
	}
	if got := names(res.Items); !slices.Equal(got, want) || res.Total != len(want) {
		t.Errorf("with the total: got %v (total %d), want %v (total %d)", got, res.Total, want, len(want))
	}
}

// TestFrontierPassesOtherDatabases checks the log position the cached sets
// sync to: a transaction running in another database of the server does not
// hold it back (every write since would count as changed), and one running
// in this database that has written and not committed does: once it
// commits, its write is in the next page and total.
//
// The store gets a database of its own: the frontier is per database, and
// other tests' transactions in the shared test database (other schemas,
// other packages running at the same time) would rightly hold it back.
func TestFrontierPassesOtherDatabases(t *testing.T) {
	ctx := context.Background()
	db := openMigratedOwn(t)
	recs := []catalog.Record{
		component("c-00", "group:default/mine", "experimental"),
		component("c-01", "group:default/other", "experimental"),
	}
	if _, err := db.EntityUpsert(ctx, store.EntityUpsertParams{Records: recs}); err != nil {
		t.Fatal(err)
	}
	p := ownersPage()
	check := func(t *testing.T, want ...string) {
		t.Helper()
		res, err := db.EntityList(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range res.Items {
			got = append(got, strings.TrimPrefix(s.Ref, "component:default/"))
		}
		if !slices.Equal(got, want) || res.Total != len(want) {
			t.Errorf("got %v (total %d), want %v", got, res.Total, want)
		}
	}
	check(t, "c-00")

	// A transaction elsewhere, started first: the lowest id running.
	u, err := url.Parse(testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/postgres"
	other, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	otherTx, err := other.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer otherTx.Rollback(ctx)
	var otherXid uint64
	if err := otherTx.QueryRow(ctx, "SELECT pg_current_xact_id()::text::bigint").Scan(&otherXid); err != nil {
		t.Fatal(err)
	}

	// A write in this database, not committed: c-01 goes to production.
	mine, err := db.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer mine.Rollback(ctx)
	if _, err := mine.Exec(ctx, "UPDATE search SET value = 'production', original = 'production' WHERE key = 'spec.lifecycle'"+
		" AND entity_id = (SELECT id FROM entities WHERE ref = 'component:default/c-01')"); err != nil {
		t.Fatal(err)
	}
	if _, err := mine.Exec(ctx, "UPDATE entities SET hash = 'pending' WHERE ref = 'component:default/c-01'"); err != nil {
		t.Fatal(err)
	}

	// Writes committed meanwhile are read; the pending one is not, and
	// the position stays at it.
	if _, err := db.EntityUpsert(ctx, store.EntityUpsertParams{Records: []catalog.Record{
		component("a-new", "group:default/mine", "experimental")}}); err != nil {
		t.Fatal(err)
	}
	check(t, "a-new", "c-00")
	if err := mine.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	check(t, "a-new", "c-00", "c-01")
	if _, err := db.EntityUpsert(ctx, store.EntityUpsertParams{Records: []catalog.Record{
		component("b-new", "group:default/other", "experimental")}}); err != nil {
		t.Fatal(err)
	}
	check(t, "a-new", "c-00", "c-01")
	if f, ok := db.sets.Frontier(); !ok || f <= otherXid {
		t.Errorf("frontier %d (synced %v): held back by transaction %d of another database", f, ok, otherXid)
	}
}

// TestQuietPageAfterPruning checks the condition of a page without a total
// over cached sets (quietCond): when the log rows of a write that changed
// the sets were pruned, the log holds nothing at or past the sets'
// frontier, and only the pruned mark says the sets may be stale; the page
// must then probe.
func TestQuietPageAfterPruning(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var recs []catalog.Record
	for i := range 6 {
		owner := "group:default/other"
		if i%3 == 0 {
			owner = "group:default/mine"
		}
		recs = append(recs, component(fmt.Sprintf("c-%02d", i), owner, "experimental"))
	}
	if _, err := db.EntityUpsert(ctx, store.EntityUpsertParams{Records: recs}); err != nil {
		t.Fatal(err)
	}
	p := ownersPage()
	list := func(p store.EntityListParams) []string {
		t.Helper()
		res, err := sqlplan.List(ctx, sqlplan.Postgres, runner{db}, p)
		if err != nil {
			t.Fatal(err)
		}
		return componentNames(res.Items)
	}
	// Read the sets, so that the page below tests cached sets.
	if got, want := list(p), []string{"c-00", "c-03"}; !slices.Equal(got, want) {
		t.Fatalf("before the write: got %v, want %v", got, want)
	}
	if _, err := db.EntityUpsert(ctx, store.EntityUpsertParams{Records: []catalog.Record{
		component("c-01", "group:default/mine", "experimental")}}); err != nil {
		t.Fatal(err)
	}
	// Pruned past the write: its rows are gone, the mark says so.
	if _, err := db.pool.Exec(ctx, "DELETE FROM entity_changes"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.pool.Exec(ctx, "UPDATE entity_changes_pruned SET below = pg_snapshot_xmax(pg_current_snapshot())"); err != nil {
		t.Fatal(err)
	}
	noTotal := p
	noTotal.CountTotal = false
	if got, want := list(noTotal), []string{"c-00", "c-01", "c-03"}; !slices.Equal(got, want) {
		t.Errorf("after the write and pruning: got %v, want %v", got, want)
	}
}

// upsertOwnedComponents writes nine components, c-00 … c-08, every third
// (c-00, c-03, c-06) owned by group:default/mine and the others by
// group:default/other.
func upsertOwnedComponents(t *testing.T, db *DB) {
	t.Helper()
	var recs []catalog.Record
	for i := range 9 {
		owner := "group:default/other"
		if i%3 == 0 {
			owner = "group:default/mine"
		}
		recs = append(recs, component(fmt.Sprintf("c-%02d", i), owner, "experimental"))
	}
	if _, err := db.EntityUpsert(context.Background(), store.EntityUpsertParams{Records: recs}); err != nil {
		t.Fatal(err)
	}
}
