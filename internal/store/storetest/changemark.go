package storetest

import (
	"context"
	"testing"

	"github.com/atrium-portal/atrium/internal/store"
)

var changeMarkTests = []struct {
	name string
	fn   func(t *testing.T, d store.Driver)
}{
	{"ChangesSince", testChangesSince},
}

// testChangesSince: EntityChangesSince reports a change for the zero
// mark, none while nothing is written, and one after every kind of write
// that changes an entity as served: an insert, an update, a write that
// only changes the relations of another entity (their source), an
// unchanged rewrite, a bulk load and a delete.
func testChangesSince(t *testing.T, d store.Driver) {
	ctx := context.Background()
	mark, changed, err := d.EntityChangesSince(ctx, store.ChangeMark{})
	if err != nil || !changed || !mark.Valid {
		t.Fatalf("zero mark: got %+v, %v, %v, want a valid mark and a change", mark, changed, err)
	}
	check := func(what string, want bool) {
		t.Helper()
		next, changed, err := d.EntityChangesSince(ctx, mark)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if changed != want {
			t.Fatalf("%s: changed %v, want %v", what, changed, want)
		}
		mark = next
		// Nothing more was written: the new mark reports no change.
		if _, again, err := d.EntityChangesSince(ctx, mark); err != nil || again {
			t.Fatalf("%s, checked again: changed %v, %v, want no change", what, again, err)
		}
	}
	check("nothing written", false)
	if began, err := d.BulkBegin(ctx); err != nil {
		t.Fatalf("BulkBegin: %v", err)
	} else if began {
		upsert(t, d, newEnt("Group", "team"))
		if err := d.BulkEnd(ctx); err != nil {
			t.Fatalf("BulkEnd: %v", err)
		}
	} else {
		upsert(t, d, newEnt("Group", "team"))
	}
	check("a bulk load", true)
	upsert(t, d, newEnt("Component", "a"))
	check("an insert", true)
	upsert(t, d, newEnt("Component", "a").withHash("h2"))
	check("an update", true)
	// The group's relations change (it now owns a): only a's row is
	// written.
	upsert(t, d, newEnt("Component", "a").withHash("h2").rel("ownedBy", "group:default/team", "ownerOf"))
	check("a relation of another entity", true)
	upsert(t, d, newEnt("Component", "a").withHash("h2").rel("ownedBy", "group:default/team", "ownerOf"))
	check("an unchanged rewrite", true)
	if err := d.EntityDelete(ctx, []string{"component:default/missing"}); err != nil {
		t.Fatal(err)
	}
	check("deleting nothing", false)
	if err := d.EntityDelete(ctx, []string{"component:default/a"}); err != nil {
		t.Fatal(err)
	}
	check("a delete", true)
	if _, err := d.EntityGetByRef(ctx, "group:default/team"); err != nil {
		t.Fatal(err)
	}
	check("reads", false)
}
