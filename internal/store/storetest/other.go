package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
)

func testFacets(t *testing.T, d store.Driver) {
	queryFixture(t, d)
	fc := func(v string, n int) store.FacetCount { return store.FacetCount{Value: v, Count: n} }
	tests := []struct {
		name   string
		facet  string
		filter *catalog.Filter
		want   []store.FacetCount
	}{
		{"kind, originals, count then value", "kind", nil, []store.FacetCount{fc("Component", 4), fc("API", 1), fc("Group", 1), fc("Resource", 1), fc("User", 1)}},
		{"key as given", "Kind", catalog.In("kind", "api"), []store.FacetCount{fc("API", 1)}},
		{"originals differing in case stay apart", "spec.type", nil, []store.FacetCount{
			fc("Service", 1), fc("openapi", 1), fc("service", 1), fc("team", 1), fc("website", 1), fc("x' OR '1'='1", 1)}},
		{"filtered", "spec.type", catalog.In("kind", "component"), []store.FacetCount{fc("Service", 1), fc("service", 1), fc("website", 1)}},
		{"array", "metadata.tags", nil, []store.FacetCount{fc("Go", 1), fc("java", 1), fc("python", 1)}},
		{"relations", "relations.ownedBy", nil, []store.FacetCount{fc("group:default/team-a", 2), fc("group:default/team-b", 1)}},
		{"relations filtered", "relations.ownedBy", catalog.In("spec.type", "website"), []store.FacetCount{fc("group:default/team-a", 1)}},
		{"unknown key", "spec.nothing", nil, []store.FacetCount{}},
		{"filter matching nothing", "kind", catalog.In("kind"), []store.FacetCount{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := d.EntityFacets(context.Background(), store.EntityFacetsParams{Facets: []string{tt.facet}, Filter: tt.filter})
			if err != nil {
				t.Fatalf("EntityFacets: %v", err)
			}
			if len(got) != 1 {
				t.Fatalf("facets: got %v, want one key %q", got, tt.facet)
			}
			eq(t, "counts", got[tt.facet], tt.want)
		})
	}
	got, err := d.EntityFacets(context.Background(), store.EntityFacetsParams{Facets: []string{"kind", "spec.type"}})
	if err != nil || len(got["kind"]) != 5 || len(got["spec.type"]) != 6 {
		t.Errorf("two facets: got %v, %v, want both", got, err)
	}
}

func testSearch(t *testing.T, d store.Driver) {
	queryFixture(t, d)
	upsert(t, d,
		newEnt("Component", "rank-high").withUID("u9").withText("zyx zyx zyx common"),
		newEnt("Component", "rank-low").withUID("u10").withText("zyx common other words fill this document up so it ranks lower"),
	)
	tests := []struct {
		name   string
		query  string
		filter *catalog.Filter
		limit  int
		want   []string // as a set, unless ordered
		order  bool
	}{
		{"word", "service", nil, 0, []string{u1, u2}, false},
		{"last word is a prefix", "serv", nil, 0, []string{u1, u2}, false},
		{"every word must match", "java serv", nil, 0, []string{u1}, false},
		{"case-insensitive", "JAVA", nil, 0, []string{u1}, false},
		{"earlier words are not prefixes", "jav service", nil, 0, []string{}, false},
		{"no substring match", "ava", nil, 0, []string{}, false},
		{"filter", "component", catalog.In("relations.ownedby", "group:default/team-a"), 0, []string{u1, u3}, false},
		{"unicode", "ölsen", nil, 0, []string{u6}, false},
		{"rank best first", "zyx", nil, 0, []string{"component:default/rank-high", "component:default/rank-low"}, true},
		{"limit", "zyx", nil, 1, []string{"component:default/rank-high"}, true},
		{"punctuation only", `"*:()`, nil, 0, []string{}, false},
		{"query syntax is literal", `NEAR( "a" OR b* AND -c`, nil, 0, []string{}, false},
		{"sql metacharacters", `'; DROP TABLE entities; --`, nil, 0, []string{}, false},
		{"empty", "", nil, 0, []string{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hits, err := d.EntitySearch(context.Background(), store.EntitySearchParams{Query: tt.query, Filter: tt.filter, Limit: tt.limit})
			if err != nil {
				t.Fatalf("EntitySearch(%q): %v", tt.query, err)
			}
			got := make([]string, len(hits))
			for i, h := range hits {
				got[i] = h.Ref
				if i > 0 && h.Rank > hits[i-1].Rank {
					t.Errorf("rank: hit %d has %v above hit %d's %v", i, h.Rank, i-1, hits[i-1].Rank)
				}
			}
			if tt.order {
				eq(t, "hits", got, tt.want)
			} else {
				eq(t, "hits", sorted(got), sorted(tt.want))
			}
		})
	}
	_, err := d.EntitySearch(context.Background(), store.EntitySearchParams{Query: "x", Filter: catalog.In("")})
	wantKind(t, err, fault.Invalid)
}

func testGetByRefs(t *testing.T, d store.Driver) {
	ctx := context.Background()
	queryFixture(t, d)
	got, err := d.EntityGetByRefs(ctx, []string{u3, "component:default/none", u1, u1, "COMPONENT:DEFAULT/SVC-B"}, nil)
	if err != nil {
		t.Fatalf("EntityGetByRefs: %v", err)
	}
	eq(t, "refs", refsOf(got), []string{u3, "<nil>", u1, u1, u2})
	if len(got[2].Relations) == 0 {
		t.Errorf("relations: got none for %s, want them filled", u1)
	}
	got, err = d.EntityGetByRefs(ctx, []string{u4, u1, u5}, catalog.In("kind", "component"))
	if err != nil {
		t.Fatalf("EntityGetByRefs filtered: %v", err)
	}
	eq(t, "filtered", refsOf(got), []string{"<nil>", u1, "<nil>"})

	var many, want []string
	for i := range 1300 {
		if i%100 == 7 {
			many = append(many, fixtureAll[i%len(fixtureAll)])
			want = append(want, fixtureAll[i%len(fixtureAll)])
			continue
		}
		many = append(many, fmt.Sprintf("component:default/missing-%d", i))
		want = append(want, "<nil>")
	}
	got, err = d.EntityGetByRefs(ctx, many, nil)
	if err != nil {
		t.Fatalf("EntityGetByRefs many: %v", err)
	}
	eq(t, "many", refsOf(got), want)
	if got, err := d.EntityGetByRefs(ctx, nil, nil); err != nil || len(got) != 0 {
		t.Errorf("no refs: got %v, %v, want empty", got, err)
	}
}

func testDelete(t *testing.T, d store.Driver) {
	ctx := context.Background()
	queryFixture(t, d)
	if err := d.EdgeAdd(ctx, "location:default/root", []string{u1, u2}); err != nil {
		t.Fatalf("EdgeAdd: %v", err)
	}
	if err := d.EdgeAdd(ctx, u1, []string{"component:default/child"}); err != nil {
		t.Fatalf("EdgeAdd: %v", err)
	}
	if err := d.EntityDelete(ctx, []string{u1, "component:default/none"}); err != nil {
		t.Fatalf("EntityDelete: %v", err)
	}
	_, err := d.EntityGetByRef(ctx, u1)
	wantKind(t, err, fault.NotFound)
	_, err = d.EntityGetByUID(ctx, "u1")
	wantKind(t, err, fault.NotFound)
	r := list(t, d, store.EntityListParams{Filter: catalog.In("metadata.tags", "java")})
	eq(t, "search rows", refsOf(r.Items), []string{})
	eq(t, "originated relations", getRef(t, d, u5).Relations, []catalog.Relation{{Type: "ownerOf", TargetRef: u3}})
	if hits, err := d.EntitySearch(ctx, store.EntitySearchParams{Query: "java"}); err != nil || len(hits) != 0 {
		t.Errorf("full text: got %v, %v, want no hits", hits, err)
	}
	parents, err := d.EdgeParents(ctx, []string{u1, u2, "component:default/child"})
	if err != nil {
		t.Fatalf("EdgeParents: %v", err)
	}
	if len(parents) != 1 || len(parents[u2]) != 1 {
		t.Errorf("parents: got %v, want only %s's", parents, u2)
	}
	facets, err := d.EntityFacets(ctx, store.EntityFacetsParams{Facets: []string{"kind"}})
	if err != nil || facets["kind"][0] != (store.FacetCount{Value: "Component", Count: 3}) {
		t.Errorf("facets: got %v, %v, want Component 3", facets, err)
	}
	// Writing it again starts fresh.
	upsert(t, d, newEnt("Component", "svc-a").withUID("u1-new"))
	if got := getRef(t, d, u1); got.UID != "u1-new" {
		t.Errorf("recreated uid: got %q, want %q", got.UID, "u1-new")
	}
	if err := d.EntityDelete(ctx, nil); err != nil {
		t.Errorf("delete nothing: %v", err)
	}
}

func testCountAndRefs(t *testing.T, d store.Driver) {
	ctx := context.Background()
	queryFixture(t, d)
	counts, err := d.EntityCount(ctx)
	if err != nil {
		t.Fatalf("EntityCount: %v", err)
	}
	want := map[string]int{"component": 4, "api": 1, "group": 1, "user": 1, "resource": 1}
	if len(counts) != len(want) {
		t.Errorf("counts: got %v, want %v", counts, want)
	}
	for k, v := range want {
		if counts[k] != v {
			t.Errorf("count %s: got %d, want %d", k, counts[k], v)
		}
	}
	var got []string
	after := ""
	for range 10 {
		page, err := d.EntityRefsAll(ctx, after, 3)
		if err != nil {
			t.Fatalf("EntityRefsAll: %v", err)
		}
		if len(page) == 0 {
			break
		}
		got = append(got, page...)
		after = page[len(page)-1]
	}
	eq(t, "refs", got, sorted(fixtureAll))
}

func testEdges(t *testing.T, d store.Driver) {
	ctx := context.Background()
	p := "provider:config"
	replace := func(children []string, wantRemoved []string) {
		t.Helper()
		removed, err := d.EdgeReplace(ctx, p, children)
		if err != nil {
			t.Fatalf("EdgeReplace: %v", err)
		}
		eq(t, "removed", removed, wantRemoved)
	}
	children := func(want []string) {
		t.Helper()
		got, err := d.EdgeChildren(ctx, p)
		if err != nil {
			t.Fatalf("EdgeChildren: %v", err)
		}
		eq(t, "children", got, want)
	}
	replace([]string{"c:a", "c:c", "c:b", "c:b"}, []string{})
	children([]string{"c:a", "c:b", "c:c"})
	replace([]string{"c:b", "c:c", "c:d"}, []string{"c:a"})
	children([]string{"c:b", "c:c", "c:d"})
	if err := d.EdgeAdd(ctx, p, []string{"c:e", "c:b"}); err != nil {
		t.Fatalf("EdgeAdd: %v", err)
	}
	if err := d.EdgeAdd(ctx, "location:default/x", []string{"c:b"}); err != nil {
		t.Fatalf("EdgeAdd: %v", err)
	}
	children([]string{"c:b", "c:c", "c:d", "c:e"})
	parents, err := d.EdgeParents(ctx, []string{"c:b", "c:a", "c:e"})
	if err != nil {
		t.Fatalf("EdgeParents: %v", err)
	}
	if len(parents) != 2 {
		t.Errorf("parents: got %v, want c:b and c:e only", parents)
	}
	eq(t, "parents of c:b", parents["c:b"], []string{"location:default/x", p})
	eq(t, "parents of c:e", parents["c:e"], []string{p})
	if err := d.EdgeRemove(ctx, p, []string{"c:b", "c:zz"}); err != nil {
		t.Fatalf("EdgeRemove: %v", err)
	}
	children([]string{"c:c", "c:d", "c:e"})
	replace(nil, []string{"c:c", "c:d", "c:e"})
	children([]string{})
	if got, err := d.EdgeChildren(ctx, "location:default/x"); err != nil || len(got) != 1 {
		t.Errorf("other parent: got %v, %v, want its child kept", got, err)
	}
}

func testLocations(t *testing.T, d store.Driver) {
	ctx := context.Background()
	l1 := store.Location{ID: "id-1", Type: "file", Target: "/cat/a.yaml", CreatedAt: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	l2 := store.Location{ID: "id-2", Type: "url", Target: "https://example.com/x'y.yaml", CreatedAt: time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)}
	for _, l := range []store.Location{l1, l2} {
		if err := d.LocationCreate(ctx, l); err != nil {
			t.Fatalf("LocationCreate(%v): %v", l, err)
		}
	}
	wantKind(t, d.LocationCreate(ctx, store.Location{ID: "id-3", Type: "file", Target: "/cat/a.yaml"}), fault.Conflict)
	wantKind(t, d.LocationCreate(ctx, store.Location{ID: "id-1", Type: "file", Target: "/cat/b.yaml"}), fault.Conflict)
	wantKind(t, d.LocationCreate(ctx, store.Location{ID: "id-4", Type: "file"}), fault.Invalid)

	got, err := d.LocationList(ctx)
	if err != nil {
		t.Fatalf("LocationList: %v", err)
	}
	var ids []string
	for _, l := range got {
		ids = append(ids, l.ID)
	}
	eq(t, "oldest first", ids, []string{"id-2", "id-1"})
	if !got[0].CreatedAt.Equal(l2.CreatedAt) {
		t.Errorf("CreatedAt: got %v, want %v", got[0].CreatedAt, l2.CreatedAt)
	}
	one, err := d.LocationGet(ctx, "id-2")
	if err != nil {
		t.Fatalf("LocationGet: %v", err)
	}
	if one.Type != l2.Type || one.Target != l2.Target {
		t.Errorf("LocationGet: got %+v, want %+v", one, l2)
	}
	_, err = d.LocationGet(ctx, "nope")
	wantKind(t, err, fault.NotFound)
	if err := d.LocationDelete(ctx, "id-1"); err != nil {
		t.Fatalf("LocationDelete: %v", err)
	}
	wantKind(t, d.LocationDelete(ctx, "id-1"), fault.NotFound)
	// The freed type and target can be registered again.
	if err := d.LocationCreate(ctx, store.Location{ID: "id-5", Type: "file", Target: "/cat/a.yaml"}); err != nil {
		t.Errorf("re-create: %v", err)
	}
	got, err = d.LocationList(ctx)
	if err != nil || len(got) != 2 {
		t.Errorf("after delete: got %v, %v, want two", got, err)
	}
}

// testFacetsWithinKinds checks that facets within nothing but kinds (a
// catalog page's pickers, counted from the indexes alone) equal the same
// facets counted by the general query, relations whose source is not
// stored (team-b's ownerOf) included.
func testFacetsWithinKinds(t *testing.T, d store.Driver) {
	queryFixture(t, d)
	ctx := context.Background()
	facets := []string{"relations.ownedBy", "relations.ownerOf", "spec.type", "metadata.tags", "kind"}
	for _, kinds := range [][]string{{"Component"}, {"COMPONENT", "api"}, {"group"}, {"nothing"}} {
		fast, err := d.EntityFacets(ctx, store.EntityFacetsParams{Facets: facets, Filter: catalog.In("kind", kinds...)})
		if err != nil {
			t.Fatalf("kinds %v: %v", kinds, err)
		}
		general, err := d.EntityFacets(ctx, store.EntityFacetsParams{Facets: facets,
			Filter: catalog.All(catalog.In("kind", kinds...), catalog.Exists("kind"))})
		if err != nil {
			t.Fatalf("kinds %v: %v", kinds, err)
		}
		for _, f := range facets {
			eq(t, fmt.Sprintf("kinds %v, %s", kinds, f), fast[f], general[f])
		}
	}
	fast, err := d.EntityFacets(ctx, store.EntityFacetsParams{Facets: []string{"relations.ownedBy"}, Filter: catalog.In("kind", "component")})
	if err != nil || len(fast["relations.ownedBy"]) != 2 {
		t.Errorf("owners of components: got %v, %v, want team-a and team-b", fast, err)
	}
}
