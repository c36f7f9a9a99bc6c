package storetest

import (
	"context"
	"testing"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/store"
)

// testRelationOrder checks that every read returns an entity's relations
// the same way: sorted by type, then target, bytewise (an upper-case type
// before a lower-case one), each (type, target) once even when several
// entities originate it.
func testRelationOrder(t *testing.T, d store.Driver) {
	a := newEnt("Component", "a").
		rel("Zeta", "resource:default/x", "").
		rel("alpha", "resource:default/y", "").
		rel("Bravo", "resource:default/z", "").
		rel("alpha", "resource:default/b", "").
		rel("ownedBy", "group:default/g", "ownerOf")
	// g states the same ownership from its side: the relation rows are
	// originated twice.
	g := newEnt("Group", "g").rel("ownerOf", "component:default/a", "ownedBy")
	upsert(t, d, a, g)
	wantA := []catalog.Relation{
		{Type: "Bravo", TargetRef: "resource:default/z"},
		{Type: "Zeta", TargetRef: "resource:default/x"},
		{Type: "alpha", TargetRef: "resource:default/b"},
		{Type: "alpha", TargetRef: "resource:default/y"},
		{Type: "ownedBy", TargetRef: "group:default/g"},
	}
	wantG := []catalog.Relation{{Type: "ownerOf", TargetRef: "component:default/a"}}
	eq(t, "a by ref", getRef(t, d, "component:default/a").Relations, wantA)
	eq(t, "g by ref", getRef(t, d, "group:default/g").Relations, wantG)

	r := list(t, d, store.EntityListParams{Filter: catalog.In("kind", "component", "group")})
	if len(r.Items) != 2 {
		t.Fatalf("list: got %d items, want 2", len(r.Items))
	}
	for _, it := range r.Items {
		want := wantA
		if it.Ref == "group:default/g" {
			want = wantG
		}
		eq(t, "list "+it.Ref, it.Relations, want)
	}

	got, err := d.EntityGetByRefs(context.Background(), []string{"group:default/g", "component:default/a"}, nil)
	if err != nil {
		t.Fatalf("EntityGetByRefs: %v", err)
	}
	if len(got) != 2 || got[0] == nil || got[1] == nil {
		t.Fatalf("by refs: got %v, want both entities", got)
	}
	eq(t, "by refs g", got[0].Relations, wantG)
	eq(t, "by refs a", got[1].Relations, wantA)
}
