package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

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
	queries []string
}

func (w *writeBeforePage) EntitiesGeneric(ctx context.Context, query string, args []any) ([]*catalog.Stored, error) {
	w.queries = append(w.queries, query)
	if !w.written {
		w.written = true
		w.write()
	}
	return w.runner.EntitiesGeneric(ctx, query, args)
}

// TestPageSetsFollowAWriteMeanwhile checks that a page of one kind by name
// that tests the cached id sets of its conditions instead of probing each
// row answers for the catalog its statement reads, when a write lands
// between reading the sets and the page: the entity written allowed is on
// the page, the one written out of bounds is not.
func TestPageSetsFollowAWriteMeanwhile(t *testing.T) {
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
	filter := catalog.All(catalog.In("kind", "component"), catalog.Any(
		catalog.In("relations.ownedBy", "group:default/mine"),
		catalog.In("spec.lifecycle", "production"),
	))
	p := store.EntityListParams{Filter: filter, Order: &store.Order{Field: "metadata.name"}, Limit: 5, CountTotal: true}
	names := func(items []*catalog.Stored) []string {
		var out []string
		for _, s := range items {
			out = append(out, strings.TrimPrefix(s.Ref, "component:default/"))
		}
		return out
	}

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
	}{
		{"an entity newly allowed", []catalog.Record{component("a-new", "group:default/mine", "experimental")},
			[]string{"a-new", "c-00", "c-01", "c-03", "c-04"}},
		{"an entity no longer allowed", []catalog.Record{component("c-00", "group:default/other", "experimental")},
			[]string{"a-new", "c-01", "c-03", "c-04", "c-06"}},
		{"an owner changed only", []catalog.Record{component("c-02", "group:default/mine", "experimental")},
			[]string{"a-new", "c-01", "c-02", "c-03", "c-04"}},
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
			res, err := sqlplan.List(ctx, sqlplan.Postgres, w, p)
			if err != nil {
				t.Fatal(err)
			}
			if len(w.queries) == 0 || !strings.Contains(w.queries[0], "get_bit(") {
				t.Fatalf("the page did not test the id sets: %q", w.queries)
			}
			if got := names(res.Items); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
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
