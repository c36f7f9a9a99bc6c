package storetest

import (
	"context"
	"testing"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/store"
)

// namedTest is one test of the suite.
type namedTest = struct {
	name string
	fn   func(t *testing.T, d store.Driver)
}

// bulkTests are the bulk-load tests, plus the read and write tests run
// again inside a bulk load: with the secondary indexes gone every result
// must stay the same.
func bulkTests(base []namedTest) []namedTest {
	out := []namedTest{{"BulkCycle", testBulkCycle}, {"BulkNotEmpty", testBulkNotEmpty}}
	inBulk := map[string]bool{
		"UpsertAndGet": true, "UIDStability": true, "Conflicts": true, "BatchDuplicates": true, "RelationReplacement": true, "SearchReplacement": true, "States": true,
		"Filters": true, "Order": true, "KeysetPaging": true, "Offset": true, "Total": true, "FullText": true,
		"Facets": true, "Search": true, "GetByRefs": true, "Delete": true, "CountAndRefs": true,
	}
	for _, tt := range base {
		if !inBulk[tt.name] {
			continue
		}
		fn := tt.fn
		out = append(out, namedTest{"InBulkLoad/" + tt.name, func(t *testing.T, d store.Driver) {
			began, err := d.BulkBegin(context.Background())
			if err != nil || !began {
				t.Fatalf("BulkBegin on an empty catalog: got %v, %v, want true, nil", began, err)
			}
			fn(t, d)
		}})
	}
	return out
}

// testBulkCycle loads the query fixture in a bulk load, ends it, and checks
// that filters, facets and full-text search answer as usual afterwards, and
// that a second BulkEnd does nothing.
func testBulkCycle(t *testing.T, d store.Driver) {
	ctx := context.Background()
	began, err := d.BulkBegin(ctx)
	if err != nil || !began {
		t.Fatalf("BulkBegin: got %v, %v, want true, nil", began, err)
	}
	queryFixture(t, d)
	if err := d.BulkEnd(ctx); err != nil {
		t.Fatalf("BulkEnd: %v", err)
	}
	if err := d.BulkEnd(ctx); err != nil {
		t.Fatalf("second BulkEnd: %v", err)
	}
	res := list(t, d, store.EntityListParams{Filter: catalog.All(catalog.In("kind", "component"), catalog.In("relations.ownedby", "group:default/team-a"))})
	eq(t, "kind+owner", sorted(refsOf(res.Items)), []string{u1, u3})
	facets, err := d.EntityFacets(ctx, store.EntityFacetsParams{Facets: []string{"spec.type"}})
	if err != nil {
		t.Fatalf("EntityFacets: %v", err)
	}
	if got := len(facets["spec.type"]); got != 6 {
		t.Errorf("spec.type facet values: got %v, want %v (%v)", got, 6, facets)
	}
	hits, err := d.EntitySearch(ctx, store.EntitySearchParams{Query: "ölsen", Limit: 10})
	if err != nil {
		t.Fatalf("EntitySearch: %v", err)
	}
	if len(hits) != 1 || hits[0].Ref != u6 {
		t.Errorf("search: got %v, want [%s]", hits, u6)
	}
	// The catalog is not empty any more: no second bulk load.
	if began, err := d.BulkBegin(ctx); err != nil || began {
		t.Errorf("BulkBegin on a loaded catalog: got %v, %v, want false, nil", began, err)
	}
}

// testBulkNotEmpty checks that a catalog with one entity never starts a
// bulk load, and that BulkEnd without one is harmless.
func testBulkNotEmpty(t *testing.T, d store.Driver) {
	ctx := context.Background()
	if err := d.BulkEnd(ctx); err != nil {
		t.Fatalf("BulkEnd without a bulk load: %v", err)
	}
	upsert(t, d, newEnt("Component", "one"))
	if began, err := d.BulkBegin(ctx); err != nil || began {
		t.Fatalf("BulkBegin: got %v, %v, want false, nil", began, err)
	}
	res := list(t, d, store.EntityListParams{Filter: catalog.In("kind", "component")})
	eq(t, "kind", refsOf(res.Items), []string{"component:default/one"})
}
