package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/store/pgtest"
	"github.com/atrium-portal/atrium/internal/store/sqlplan"
)

// TestQuietPagesWithoutTotal checks the pages without a total that expect
// the log quiet: they run without their probes, and when another store's
// write (which this store's cache does not hear of) proves the hint wrong,
// the page raises its error and runs again with the probes, answering for
// the catalog as written; the pages after it, and those after this store's
// own write, take the probes at once, until a count syncs the cache.
func TestQuietPagesWithoutTotal(t *testing.T) {
	// A database of its own: another test's transaction in a shared one
	// holds the log's frontier back, and every sync then finds changes.
	ctx := context.Background()
	db, err := Open(ctx, Config{URL: pgtest.NewDatabase(t, testURL(t)), MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	other := &DB{pool: db.pool, lookups: db.lookups, sets: sqlplan.NewSetCache(sqlplan.Postgres)}
	var recs []catalog.Record
	for i := range 9 {
		owner := "group:default/other"
		if i%3 == 0 {
			owner = "group:default/mine"
		}
		recs = append(recs, component(fmt.Sprintf("c-%02d", i), owner, "experimental"))
	}
	if _, err := db.EntityUpsert(ctx, store.EntityUpsertParams{Records: recs}); err != nil {
		t.Fatal(err)
	}
	counted := ownersPage()
	uncounted := ownersPage()
	uncounted.CountTotal = false
	page := func(t *testing.T, r *roundTrips, p store.EntityListParams) []string {
		t.Helper()
		res, err := sqlplan.List(ctx, sqlplan.Postgres, r, p)
		if err != nil {
			t.Fatal(err)
		}
		return componentNames(res.Items)
	}
	moved := func(q string) bool { return strings.Contains(q, "change log moved") }
	// Read the sets; the second page's sync finds nothing changed.
	for range 2 {
		page(t, &roundTrips{runner: runner{db}}, counted)
	}

	r := &roundTrips{runner: runner{db}}
	got := page(t, r, uncounted)
	if want := []string{"c-00", "c-03", "c-06"}; !slices.Equal(got, want) {
		t.Errorf("quiet: got %v, want %v", got, want)
	}
	if len(r.pages) != 1 || !moved(r.pages[0]) || strings.Contains(r.pages[0], "FROM search fs") {
		t.Errorf("quiet: the page did not run without its probes: %q", r.pages)
	}

	if _, err := other.EntityUpsert(ctx, store.EntityUpsertParams{Records: []catalog.Record{
		component("c-01", "group:default/mine", "experimental"),
		component("c-03", "group:default/other", "experimental"),
	}}); err != nil {
		t.Fatal(err)
	}
	want := []string{"c-00", "c-01", "c-06"}
	r = &roundTrips{runner: runner{db}}
	if got := page(t, r, uncounted); !slices.Equal(got, want) {
		t.Errorf("after another store's write: got %v, want %v", got, want)
	}
	if len(r.pages) != 2 || !moved(r.pages[0]) || moved(r.pages[1]) || !strings.Contains(r.pages[1], "FROM search fs") {
		t.Errorf("after another store's write: the page did not run again with its probes: %q", r.pages)
	}

	r = &roundTrips{runner: runner{db}}
	if got := page(t, r, uncounted); !slices.Equal(got, want) {
		t.Errorf("the next page: got %v, want %v", got, want)
	}
	if len(r.pages) != 1 || moved(r.pages[0]) {
		t.Errorf("the next page did not take its probes at once: %q", r.pages)
	}

	// A count syncs the cache: the pages after it go without probes
	// again, until this store writes.
	page(t, &roundTrips{runner: runner{db}}, counted)
	r = &roundTrips{runner: runner{db}}
	page(t, r, uncounted)
	if len(r.pages) != 1 || !moved(r.pages[0]) {
		t.Errorf("after a count: the page did not run without its probes: %q", r.pages)
	}
	if _, err := db.EntityUpsert(ctx, store.EntityUpsertParams{Records: []catalog.Record{
		component("c-04", "group:default/mine", "experimental"),
	}}); err != nil {
		t.Fatal(err)
	}
	r = &roundTrips{runner: runner{db}}
	if got, want := page(t, r, uncounted), []string{"c-00", "c-01", "c-04", "c-06"}; !slices.Equal(got, want) {
		t.Errorf("after this store's write: got %v, want %v", got, want)
	}
	if len(r.pages) != 1 || moved(r.pages[0]) {
		t.Errorf("after this store's write: the page did not take its probes at once: %q", r.pages)
	}
}
