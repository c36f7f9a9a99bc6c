package storetest

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
)

func testMigrate(t *testing.T, d store.Driver) {
	ctx := context.Background()
	if err := d.Migrate(ctx); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	if err := d.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if e := d.Engine(); e != "sqlite" && e != "postgres" {
		t.Errorf("Engine: got %q, want sqlite or postgres", e)
	}
}

func testUpsertAndGet(t *testing.T, d store.Driver) {
	ctx := context.Background()
	e := newEnt("Component", "Payments").withLoc("file:/a.yaml").withHash("abc")
	e.rel("ownedBy", "group:default/team-b", "ownerOf")
	e.rel("dependsOn", "resource:default/db", "dependencyOf")
	e.rel("ownedBy", "group:default/team-a", "ownerOf")
	e.rel("ownedBy", "group:default/team-a", "") // duplicate row
	e.errors = []catalog.StatusItem{{Type: catalog.StatusTypeProcessing, Level: "error", Message: "spec.owner: required",
		Error: &catalog.StatusError{Name: "InputError", Message: "bad"}}}
	res := upsert(t, d, e)
	eq(t, "written", res.Written, []string{"component:default/payments"})
	if len(res.Conflicts) != 0 {
		t.Errorf("conflicts: got %v, want none", res.Conflicts)
	}

	got := getRef(t, d, "Component:Default/PAYMENTS")
	want := e.record()
	if got.UID != "uid-payments" || got.Ref != want.Ref || got.Hash != "abc" || !bytes.Equal(got.Body, want.Body) {
		t.Errorf("stored: got uid %q ref %q hash %q body %s, want %q %q %q %s", got.UID, got.Ref, got.Hash, got.Body, "uid-payments", want.Ref, "abc", want.Body)
	}
	wantRels := []catalog.Relation{
		{Type: "dependsOn", TargetRef: "resource:default/db"},
		{Type: "ownedBy", TargetRef: "group:default/team-a"},
		{Type: "ownedBy", TargetRef: "group:default/team-b"},
	}
	eq(t, "relations", got.Relations, wantRels)
	if len(got.Errors) != 1 || got.Errors[0].Message != "spec.owner: required" || got.Errors[0].Error == nil || got.Errors[0].Error.Name != "InputError" {
		t.Errorf("errors: got %+v, want the one status item", got.Errors)
	}
	if got.CreatedAt.IsZero() || got.UpdatedAt.IsZero() {
		t.Errorf("timestamps: got created %v updated %v, want both set", got.CreatedAt, got.UpdatedAt)
	}
	if got.SortValue != nil {
		t.Errorf("SortValue: got %s, want nil", str(got.SortValue))
	}

	byUID, err := d.EntityGetByUID(ctx, "uid-payments")
	if err != nil {
		t.Fatalf("EntityGetByUID: %v", err)
	}
	if byUID.Ref != want.Ref || len(byUID.Relations) != 3 {
		t.Errorf("by uid: got %q with %d relations, want %q with 3", byUID.Ref, len(byUID.Relations), want.Ref)
	}

	// The inverse rows are the group's relations even though the group
	// itself is stored later.
	upsert(t, d, newEnt("Group", "team-a"))
	g := getRef(t, d, "group:default/team-a")
	eq(t, "group relations", g.Relations, []catalog.Relation{{Type: "ownerOf", TargetRef: "component:default/payments"}})

	_, err = d.EntityGetByRef(ctx, "component:default/nope")
	wantKind(t, err, fault.NotFound)
	_, err = d.EntityGetByUID(ctx, "nope")
	wantKind(t, err, fault.NotFound)

	// No errors any more: the stored items are cleared.
	e.errors = nil
	upsert(t, d, e)
	if got := getRef(t, d, want.Ref); len(got.Errors) != 0 {
		t.Errorf("errors after clean write: got %+v, want none", got.Errors)
	}
	if res, err := d.EntityUpsert(ctx, store.EntityUpsertParams{}); err != nil || len(res.Written) != 0 {
		t.Errorf("empty upsert: got %+v, %v, want nothing written", res, err)
	}
}

func testUpsertInvalid(t *testing.T, d store.Driver) {
	ctx := context.Background()
	_, err := d.EntityUpsert(ctx, store.EntityUpsertParams{Records: []catalog.Record{newEnt("Component", "ok").record(), {UID: "x"}}})
	wantKind(t, err, fault.Invalid)
	// The batch is all or nothing.
	_, err = d.EntityGetByRef(ctx, "component:default/ok")
	wantKind(t, err, fault.NotFound)
}

func testUIDStability(t *testing.T, d store.Driver) {
	ctx := context.Background()
	upsert(t, d, newEnt("Component", "a").withUID("first"))
	upsert(t, d, newEnt("Component", "a").withUID("second").withHash("h2"))
	got := getRef(t, d, "component:default/a")
	if got.UID != "first" || got.Hash != "h2" {
		t.Errorf("after rewrite: got uid %q hash %q, want %q %q", got.UID, got.Hash, "first", "h2")
	}
	// A new entity claiming a UID already in use gets another one.
	upsert(t, d, newEnt("Component", "b").withUID("first"))
	b := getRef(t, d, "component:default/b")
	if b.UID == "" || b.UID == "first" {
		t.Errorf("colliding uid: got %q, want a fresh uid", b.UID)
	}
	// A record without UID gets one.
	upsert(t, d, newEnt("Component", "c").withUID(""))
	if c := getRef(t, d, "component:default/c"); c.UID == "" {
		t.Errorf("missing uid: got empty, want a generated uid")
	}
	if _, err := d.EntityGetByUID(ctx, b.UID); err != nil {
		t.Errorf("EntityGetByUID(%q): %v", b.UID, err)
	}
}

func testConflicts(t *testing.T, d store.Driver) {
	ctx := context.Background()
	upsert(t, d, newEnt("Component", "owned").withLoc("url:a").withHash("ha"), newEnt("Component", "free"))
	res := upsert(t, d,
		newEnt("Component", "owned").withLoc("url:b").withHash("hb").set("spec.type", "library"),
		newEnt("Component", "free").withLoc("url:b").withHash("hb"),
		newEnt("Component", "new").withLoc("url:b"),
	)
	eq(t, "written", res.Written, []string{"component:default/free", "component:default/new"})
	eq(t, "conflicts", res.Conflicts, []store.Conflict{{Ref: "component:default/owned", ExistingLocationKey: "url:a", NewLocationKey: "url:b"}})
	if got := getRef(t, d, "component:default/owned"); got.Hash != "ha" {
		t.Errorf("refused entity: got hash %q, want unchanged %q", got.Hash, "ha")
	}
	r := list(t, d, store.EntityListParams{Filter: catalog.In("spec.type", "library")})
	eq(t, "refused search rows", refsOf(r.Items), []string{})

	// The owner writes again; an empty key keeps the owner's key.
	upsert(t, d, newEnt("Component", "owned").withLoc("url:a").withHash("ha2"))
	upsert(t, d, newEnt("Component", "owned").withHash("h-nokey"))
	states, err := d.EntityStates(ctx, []string{"component:default/owned", "component:default/free"})
	if err != nil {
		t.Fatalf("EntityStates: %v", err)
	}
	if s := states["component:default/owned"]; s.LocationKey != "url:a" || s.Hash != "h-nokey" {
		t.Errorf("owned state: got %+v, want key url:a hash h-nokey", s)
	}
	if s := states["component:default/free"]; s.LocationKey != "url:b" {
		t.Errorf("taken over: got key %q, want url:b", s.LocationKey)
	}
}

func testBatchDuplicates(t *testing.T, d store.Driver) {
	upsert(t, d, newEnt("Component", "dup").withHash("one").set("spec.type", "one"),
		newEnt("Component", "dup").withHash("two").set("spec.type", "two"))
	if got := getRef(t, d, "component:default/dup"); got.Hash != "two" {
		t.Errorf("hash: got %q, want %q", got.Hash, "two")
	}
	r := list(t, d, store.EntityListParams{Filter: catalog.In("spec.type", "one")})
	eq(t, "old value", refsOf(r.Items), []string{})
}

func testLargeBatch(t *testing.T, d store.Driver) {
	var ents []*ent
	for i := range 1200 {
		e := newEnt("Component", fmt.Sprintf("c%04d", i))
		for j := range 30 {
			e.set(fmt.Sprintf("metadata.annotations.k%d", j), fmt.Sprintf("v%d", i))
		}
		e.rel("ownedBy", "group:default/g", "ownerOf")
		ents = append(ents, e)
	}
	res := upsert(t, d, ents...)
	if len(res.Written) != 1200 {
		t.Fatalf("written: got %d, want 1200", len(res.Written))
	}
	// Rewrite all of them (the update path) and check one.
	for _, e := range ents {
		e.hash = "h2"
	}
	upsert(t, d, ents...)
	r := list(t, d, store.EntityListParams{Filter: catalog.In("metadata.annotations.k29", "v1199"), CountTotal: true})
	eq(t, "found", refsOf(r.Items), []string{"component:default/c1199"})
	g := list(t, d, store.EntityListParams{Filter: catalog.In("relations.ownedby", "group:default/g"), Limit: 1, CountTotal: true})
	if g.Total != 1200 {
		t.Errorf("owned total: got %d, want 1200", g.Total)
	}
	upsert(t, d, newEnt("Group", "g"))
	if got := getRef(t, d, "group:default/g"); len(got.Relations) != 1200 {
		t.Errorf("group relations: got %d, want 1200", len(got.Relations))
	}
}

func testRelationReplacement(t *testing.T, d store.Driver) {
	a := newEnt("Component", "a").rel("ownedBy", "group:default/g1", "ownerOf")
	g1 := newEnt("Group", "g1").rel("hasMember", "user:default/u", "memberOf")
	g2 := newEnt("Group", "g2")
	upsert(t, d, a, g1, g2)
	eq(t, "g1 before", getRef(t, d, "group:default/g1").Relations, []catalog.Relation{
		{Type: "hasMember", TargetRef: "user:default/u"},
		{Type: "ownerOf", TargetRef: "component:default/a"},
	})
	a = newEnt("Component", "a").rel("ownedBy", "group:default/g2", "ownerOf")
	upsert(t, d, a)
	eq(t, "a after", getRef(t, d, "component:default/a").Relations, []catalog.Relation{{Type: "ownedBy", TargetRef: "group:default/g2"}})
	eq(t, "g1 after", getRef(t, d, "group:default/g1").Relations, []catalog.Relation{{Type: "hasMember", TargetRef: "user:default/u"}})
	eq(t, "g2 after", getRef(t, d, "group:default/g2").Relations, []catalog.Relation{{Type: "ownerOf", TargetRef: "component:default/a"}})
	r := list(t, d, store.EntityListParams{Filter: catalog.In("relations.ownedby", "group:default/g1")})
	eq(t, "filter old owner", refsOf(r.Items), []string{})
}

func testSearchReplacement(t *testing.T, d store.Driver) {
	ctx := context.Background()
	upsert(t, d, newEnt("Component", "a").set("spec.type", "service").withText("alpha beta"))
	upsert(t, d, newEnt("Component", "a").set("spec.type", "website").withText("gamma"))
	r := list(t, d, store.EntityListParams{Filter: catalog.In("spec.type", "service")})
	eq(t, "old value", refsOf(r.Items), []string{})
	r = list(t, d, store.EntityListParams{Filter: catalog.In("spec.type", "website")})
	eq(t, "new value", refsOf(r.Items), []string{"component:default/a"})
	hits, err := d.EntitySearch(ctx, store.EntitySearchParams{Query: "alpha"})
	if err != nil {
		t.Fatalf("EntitySearch: %v", err)
	}
	if len(hits) != 0 {
		t.Errorf("old text: got %v, want no hits", hits)
	}
	hits, err = d.EntitySearch(ctx, store.EntitySearchParams{Query: "gamma"})
	if err != nil || len(hits) != 1 {
		t.Errorf("new text: got %v, %v, want one hit", hits, err)
	}
}

func testStates(t *testing.T, d store.Driver) {
	ctx := context.Background()
	bad := newEnt("Component", "bad").withHash("hb").withLoc("url:x")
	bad.errors = []catalog.StatusItem{{Type: catalog.StatusTypeProcessing, Level: "error", Message: "boom"}}
	upsert(t, d, newEnt("Component", "good").withHash("hg"), bad)
	got, err := d.EntityStates(ctx, []string{"component:default/good", "component:default/bad", "component:default/none"})
	if err != nil {
		t.Fatalf("EntityStates: %v", err)
	}
	want := map[string]store.EntityState{
		"component:default/good": {UID: "uid-good", Hash: "hg"},
		"component:default/bad":  {UID: "uid-bad", Hash: "hb", LocationKey: "url:x", HasErrors: true},
	}
	if len(got) != len(want) {
		t.Errorf("states: got %v, want %v", got, want)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("state %s: got %+v, want %+v", k, got[k], w)
		}
	}
	if got, err := d.EntityStates(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("no refs: got %v, %v, want empty", got, err)
	}
}
