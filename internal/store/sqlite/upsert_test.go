package sqlite

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/store/sqlplan"
)

func TestCompareRelationRowsOrdersByTheTableKey(t *testing.T) {
	row := func(origin, source, typ, target string) relationRow {
		return relationRow{origin: origin, RelationRow: sqlplan.RelationRow{Source: source, Type: typ, TypeLower: strings.ToLower(typ), Target: target}}
	}
	rows := []relationRow{
		row("o1", "b", "ownedBy", "t1"),
		row("o2", "a", "ownedBy", "t2"),
		row("o0", "b", "dependsOn", "t9"),
		row("o3", "a", "ownedBy", "t1"),
		row("o1", "a", "ownedBy", "t1"),
		row("o1", "a", "OwnedBy", "t1"),
	}
	slices.SortFunc(rows, compareRelationRows)
	var got []string
	for _, r := range rows {
		got = append(got, r.Source+" "+r.Type+" "+r.Target+" "+r.origin)
	}
	want := []string{"a OwnedBy t1 o1", "a ownedBy t1 o1", "a ownedBy t1 o3", "a ownedBy t2 o2", "b dependsOn t9 o0", "b ownedBy t1 o1"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestRefusedEntityWritesNoRelationRows checks that the relation rows of
// a record refused for its location key are not written, while those of
// the other records of the same call are.
func TestRefusedEntityWritesNoRelationRows(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	rec := func(name, loc, owner string) catalog.Record {
		ref := "component:default/" + name
		return catalog.Record{Ref: ref, Kind: "Component", Namespace: "default", Name: name, Body: []byte("{}"), Hash: loc, LocationKey: loc,
			Relations: []catalog.RelationRow{{Source: ref, Type: "ownedBy", Target: owner}, {Source: owner, Type: "ownerOf", Target: ref}}}
	}
	if _, err := db.EntityUpsert(ctx, store.EntityUpsertParams{Records: []catalog.Record{rec("a", "url:a", "group:default/one")}}); err != nil {
		t.Fatal(err)
	}
	res, err := db.EntityUpsert(ctx, store.EntityUpsertParams{Records: []catalog.Record{
		rec("b", "url:b", "group:default/two"), rec("a", "url:b", "group:default/two"), rec("c", "url:b", "group:default/three")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Conflicts) != 1 {
		t.Fatalf("conflicts: got %v, want one for component:default/a", res.Conflicts)
	}
	rows, err := db.write.QueryContext(ctx, "SELECT originating_ref, source_ref, type, target_ref FROM relations ORDER BY source_ref, type_lower, target_ref")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var o, s, ty, tg string
		if err := rows.Scan(&o, &s, &ty, &tg); err != nil {
			t.Fatal(err)
		}
		got = append(got, o+": "+s+" "+ty+" "+tg)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"component:default/a: component:default/a ownedBy group:default/one",
		"component:default/b: component:default/b ownedBy group:default/two",
		"component:default/c: component:default/c ownedBy group:default/three",
		"component:default/a: group:default/one ownerOf component:default/a",
		"component:default/c: group:default/three ownerOf component:default/c",
		"component:default/b: group:default/two ownerOf component:default/b",
	}
	if !slices.Equal(got, want) {
		t.Errorf("relation rows:\ngot  %q\nwant %q", got, want)
	}
}
