package postgres

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/store/sqlplan"
)

// roundTrips is a runner that records the statements it runs: the pages,
// the reads batched with them, and the reads run on their own.
type roundTrips struct {
	runner
	before  func() // runs once, before the first page
	pages   []string
	batched []string
	alone   []string
}

func (r *roundTrips) page(query string) {
	r.pages = append(r.pages, query)
	if r.before != nil {
		r.before()
		r.before = nil
	}
}

func (r *roundTrips) EntitiesGeneric(ctx context.Context, query string, args []any) ([]*catalog.Stored, error) {
	r.page(query)
	return r.runner.EntitiesGeneric(ctx, query, args)
}

func (r *roundTrips) EntitiesGenericThenText(ctx context.Context, query string, args []any, textQuery string, textArgs []any) ([]*catalog.Stored, string, error) {
	r.page(query)
	r.batched = append(r.batched, textQuery)
	return r.runner.EntitiesGenericThenText(ctx, query, args, textQuery, textArgs)
}

func (r *roundTrips) TextGeneric(ctx context.Context, query string, args []any) (string, error) {
	r.alone = append(r.alone, query)
	return r.runner.TextGeneric(ctx, query, args)
}

// light reports whether the page ran with the log's sync alone: the page
// without the list of changed ids, the read without the leaves' patches.
func (r *roundTrips) light() bool {
	return len(r.pages) == 1 && len(r.batched) == 1 &&
		strings.Contains(r.pages[0], "max(xid)") && !strings.Contains(r.pages[0], "unnest(ARRAY(") &&
		!strings.Contains(r.batched[0], "log_ids")
}

// TestQuietPagesWithTotal checks the pages with a total that expect the
// log quiet (their cache's last sync found nothing and the store wrote
// nothing since): they run with the log's sync alone and count from the
// cached sets, and when another store's write (which this store's cache
// does not hear of) proves the hint wrong, before the page or between the
// sets' read and the page, the page and its total still answer for the
// catalog as written. A write of this store makes the next page take the
// list of changed ids at once.
func TestQuietPagesWithTotal(t *testing.T) {
	// A database of its own: another test's transaction in a shared one
	// holds the log's frontier back, and every sync then finds changes.
	ctx := context.Background()
	db := openMigratedOwn(t)
	// Another replica on the same database: its own cache of sets.
	other := &DB{pool: db.pool, lookups: db.lookups, sets: sqlplan.NewSetCache(sqlplan.Postgres)}
	upsertOwnedComponents(t, db)
	write := func(t *testing.T, d *DB, rec catalog.Record) {
		t.Helper()
		if _, err := d.EntityUpsert(ctx, store.EntityUpsertParams{Records: []catalog.Record{rec}}); err != nil {
			t.Fatal(err)
		}
	}
	p := ownersPage()
	page := func(t *testing.T, r *roundTrips) ([]string, int) {
		t.Helper()
		res, err := sqlplan.List(ctx, sqlplan.Postgres, r, p)
		if err != nil {
			t.Fatal(err)
		}
		return componentNames(res.Items), res.Total
	}
	check := func(t *testing.T, what string, got []string, total int, want []string, wantTotal int) {
		t.Helper()
		if !slices.Equal(got, want) || total != wantTotal {
			t.Errorf("%s: got %v (total %d), want %v (total %d)", what, got, total, want, wantTotal)
		}
	}
	// Read the sets, then a page whose sync finds nothing changed.
	for range 2 {
		got, total := page(t, &roundTrips{runner: runner{db}})
		check(t, "before the writes", got, total, []string{"c-00", "c-03", "c-06"}, 3)
	}

	r := &roundTrips{runner: runner{db}}
	got, total := page(t, r)
	check(t, "quiet", got, total, []string{"c-00", "c-03", "c-06"}, 3)
	if !r.light() || len(r.alone) != 0 {
		t.Errorf("quiet: the page did not run with the log's sync alone: pages %q, batched %q, alone %q", r.pages, r.batched, r.alone)
	}

	// Another store writes: the hint is wrong, the page probes and the
	// whole read follows on its own.
	write(t, other, component("c-01", "group:default/mine", "experimental"))
	r = &roundTrips{runner: runner{db}}
	got, total = page(t, r)
	check(t, "after another store's write", got, total, []string{"c-00", "c-01", "c-03", "c-06"}, 4)
	if !r.light() || len(r.alone) != 1 || !strings.Contains(r.alone[0], "log_ids") {
		t.Errorf("after another store's write: pages %q, batched %q, alone %q", r.pages, r.batched, r.alone)
	}

	// That read found changes: the next page takes the list, its read
	// finds nothing, and the one after is light again.
	r = &roundTrips{runner: runner{db}}
	got, total = page(t, r)
	check(t, "after the read that found changes", got, total, []string{"c-00", "c-01", "c-03", "c-06"}, 4)
	if r.light() {
		t.Errorf("after a read that found changes the page expected the log quiet")
	}
	r = &roundTrips{runner: runner{db}}
	page(t, r)
	if !r.light() {
		t.Errorf("quiet again: the page did not run with the log's sync alone: %q", r.batched)
	}

	// Another store writes between the sets' read and the page.
	r = &roundTrips{runner: runner{db}, before: func() {
		write(t, other, component("c-00", "group:default/other", "experimental"))
		write(t, other, component("a-new", "group:default/other", "production"))
	}}
	got, total = page(t, r)
	check(t, "a write meanwhile", got, total, []string{"a-new", "c-01", "c-03", "c-06"}, 4)
	if !r.light() || len(r.alone) != 1 {
		t.Errorf("a write meanwhile: pages %q, batched %q, alone %q", r.pages, r.batched, r.alone)
	}

	// This store writes: the next page takes the list at once.
	page(t, &roundTrips{runner: runner{db}})
	if r = (&roundTrips{runner: runner{db}}); func() bool { page(t, r); return !r.light() }() {
		t.Fatalf("not quiet before this store's write: %q", r.batched)
	}
	write(t, db, component("c-02", "group:default/other", "production"))
	r = &roundTrips{runner: runner{db}}
	got, total = page(t, r)
	check(t, "after this store's write", got, total, []string{"a-new", "c-01", "c-02", "c-03", "c-06"}, 5)
	if r.light() || len(r.batched) != 1 || !strings.Contains(r.batched[0], "log_ids") || len(r.alone) != 0 {
		t.Errorf("after this store's write: pages %q, batched %q, alone %q", r.pages, r.batched, r.alone)
	}
}
