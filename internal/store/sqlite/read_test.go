package sqlite

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/store/storetest"
)

// TestEntityGetByRefIgnoresCancellation: a point lookup under a cancellable
// context allocates no more than under one without cancellation (no
// goroutines watch it), and a context already done still fails it.
func TestEntityGetByRefIgnoresCancellation(t *testing.T) {
	ctx := context.Background()
	db := openLoaded(t)
	ref := storetest.SyntheticRef(3)
	lookups := func(ctx context.Context) float64 {
		return testing.AllocsPerRun(200, func() {
			if _, err := db.EntityGetByRef(ctx, ref); err != nil {
				t.Fatal(err)
			}
		})
	}
	cctx, cancel := context.WithCancel(ctx)
	plain, cancellable := lookups(ctx), lookups(cctx)
	if cancellable > plain+1 {
		t.Errorf("got %.0f allocations per lookup under a cancellable context, want at most %.0f (as without one, and one context)", cancellable, plain+1)
	}
	cancel()
	if _, err := db.EntityGetByRef(cctx, ref); !fault.Is(err, fault.Unavailable) {
		t.Errorf("got %v under a cancelled context, want an unavailable error", err)
	}
	if _, err := db.EntityGetByUID(cctx, "x"); !fault.Is(err, fault.Unavailable) {
		t.Errorf("by uid: got %v under a cancelled context, want an unavailable error", err)
	}
}

// TestEntityGetByRefsIgnoresCancellation: as TestEntityGetByRefIgnoresCancellation,
// for a by-refs read without a filter.
func TestEntityGetByRefsIgnoresCancellation(t *testing.T) {
	ctx := context.Background()
	db := openLoaded(t)
	refs := []string{storetest.SyntheticRef(3), storetest.SyntheticRef(5), "component:default/absent"}
	reads := func(ctx context.Context) float64 {
		return testing.AllocsPerRun(100, func() {
			got, err := db.EntityGetByRefs(ctx, refs, nil)
			if err != nil || len(got) != 3 || got[0] == nil || got[2] != nil {
				t.Fatalf("got %v, %v", got, err)
			}
		})
	}
	cctx, cancel := context.WithCancel(ctx)
	plain, cancellable := reads(ctx), reads(cctx)
	if cancellable > plain+1 {
		t.Errorf("got %.0f allocations per read under a cancellable context, want at most %.0f", cancellable, plain+1)
	}
	cancel()
	if _, err := db.EntityGetByRefs(cctx, refs, nil); !fault.Is(err, fault.Unavailable) {
		t.Errorf("got %v under a cancelled context, want an unavailable error", err)
	}
}

// openLoaded returns a migrated test store holding a small synthetic
// catalog (storetest.Load).
func openLoaded(t *testing.T) *DB {
	t.Helper()
	db := openTest(t)
	ctx := context.Background()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := storetest.Load(ctx, db, 0, 20, 20, 20); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestEntityGetByRefBody: a lookup's body, kept as the driver scanned it,
// is the stored body and stays so while later lookups run on the same
// connections; by ref and by uid read the same entity.
func TestEntityGetByRefBody(t *testing.T) {
	ctx := context.Background()
	db := openLoaded(t)
	refs := []string{storetest.SyntheticRef(3), storetest.SyntheticRef(5), storetest.SyntheticRef(7)}
	want, err := db.EntityGetByRefs(ctx, refs, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []*catalog.Stored
	for range 20 {
		for _, r := range refs {
			s, err := db.EntityGetByRef(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, s)
		}
	}
	for i, s := range got {
		w := want[i%len(refs)]
		if s.Ref != w.Ref || s.UID != w.UID || s.Hash != w.Hash || !bytes.Equal(s.Body, w.Body) {
			t.Fatalf("lookup %d: got %s %s %s %q, want %s %s %s %q", i, s.Ref, s.UID, s.Hash, s.Body, w.Ref, w.UID, w.Hash, w.Body)
		}
		if !slices.Equal(s.Relations, w.Relations) {
			t.Fatalf("lookup %d: got relations %v, want %v", i, s.Relations, w.Relations)
		}
		if !s.CreatedAt.Equal(w.CreatedAt) || !s.UpdatedAt.Equal(w.UpdatedAt) {
			t.Fatalf("lookup %d: got times %v %v, want %v %v", i, s.CreatedAt, s.UpdatedAt, w.CreatedAt, w.UpdatedAt)
		}
	}
	byUID, err := db.EntityGetByUID(ctx, want[0].UID)
	if err != nil {
		t.Fatal(err)
	}
	if byUID.Ref != want[0].Ref || byUID.UID != want[0].UID || !bytes.Equal(byUID.Body, want[0].Body) || !slices.Equal(byUID.Relations, want[0].Relations) {
		t.Errorf("by uid: got %s %s %q %v, want %s %s %q %v", byUID.Ref, byUID.UID, byUID.Body, byUID.Relations, want[0].Ref, want[0].UID, want[0].Body, want[0].Relations)
	}
	if _, err := db.EntityGetByRef(ctx, "component:default/absent"); !fault.Is(err, fault.NotFound) {
		t.Errorf("absent ref: got %v, want not found", err)
	}
	if _, err := db.EntityGetByUID(ctx, "absent"); !fault.Is(err, fault.NotFound) {
		t.Errorf("absent uid: got %v, want not found", err)
	}
}

// TestEntityGetByRefAllocs bounds a lookup's allocations: the driver's
// column names and declared types (one-letter expression columns), the
// body's second copy and the split of the relations must not come back.
func TestEntityGetByRefAllocs(t *testing.T) {
	ctx := context.Background()
	db := openLoaded(t)
	ref := storetest.SyntheticRef(3)
	got := testing.AllocsPerRun(200, func() {
		if _, err := db.EntityGetByRef(ctx, ref); err != nil {
			t.Fatal(err)
		}
	})
	if want := 27.0; got > want {
		t.Errorf("got %.0f allocations per lookup, want at most %.0f", got, want)
	}
}

func TestSplitRelations(t *testing.T) {
	tests := []struct {
		col  string
		want []catalog.Relation
		err  bool
	}{
		{col: "dependsOn\x1fcomponent:default/b", want: []catalog.Relation{{Type: "dependsOn", TargetRef: "component:default/b"}}},
		{col: "ownedBy\x1fgroup:default/t\x1edependsOn\x1fcomponent:default/c\x1eownedBy\x1fgroup:default/t\x1edependsOn\x1fcomponent:default/b",
			want: []catalog.Relation{{Type: "dependsOn", TargetRef: "component:default/b"}, {Type: "dependsOn", TargetRef: "component:default/c"}, {Type: "ownedBy", TargetRef: "group:default/t"}}},
		{col: "dependsOn", err: true},
		{col: "dependsOn\x1fcomponent:default/b\x1e", err: true},
		{col: "\x1fcomponent:default/b", err: true},
	}
	for _, tc := range tests {
		got, err := splitRelations(tc.col)
		if (err != nil) != tc.err {
			t.Errorf("%q: got error %v, want error %v", tc.col, err, tc.err)
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q: got %v, want %v", tc.col, got, tc.want)
		}
	}
}

// TestEntityListKeysOnly: a page asked keys only holds the same entities,
// in the same order, with the same sort values, totals and times as the
// page read whole, without body, hash, status or relations; for every kind
// of page query.
func TestEntityListKeysOnly(t *testing.T) {
	ctx := context.Background()
	db := openLoaded(t)
	f := catalog.All(catalog.In("kind", "component"), catalog.In("relations.ownedBy", "group:default/team-0001"))
	tests := []struct {
		name   string
		filter *catalog.Filter
		order  *store.Order
	}{
		{"team's components by uid", f, nil},
		{"components by name", catalog.In("kind", "component"), &store.Order{Field: "metadata.name"}},
		{"components by type", catalog.In("kind", "component"), &store.Order{Field: "spec.type", Desc: true}},
		{"all by uid", nil, nil},
	}
	for _, tt := range tests {
		p := store.EntityListParams{Filter: tt.filter, Order: tt.order, Limit: 5, CountTotal: true}
		whole, err := db.EntityList(ctx, p)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		p.KeysOnly = true
		keys, err := db.EntityList(ctx, p)
		if err != nil {
			t.Fatalf("%s, keys only: %v", tt.name, err)
		}
		if len(whole.Items) == 0 {
			t.Fatalf("%s: empty page", tt.name)
		}
		if len(keys.Items) != len(whole.Items) || keys.Total != whole.Total || keys.HasMore != whole.HasMore {
			t.Fatalf("%s: got %d items, total %d, more %v; want %d, %d, %v", tt.name,
				len(keys.Items), keys.Total, keys.HasMore, len(whole.Items), whole.Total, whole.HasMore)
		}
		for i, k := range keys.Items {
			w := whole.Items[i]
			if k.Ref != w.Ref || k.UID != w.UID || !k.CreatedAt.Equal(w.CreatedAt) || !k.UpdatedAt.Equal(w.UpdatedAt) ||
				(k.SortValue == nil) != (w.SortValue == nil) || (k.SortValue != nil && *k.SortValue != *w.SortValue) {
				t.Errorf("%s: item %d: got %s %s %v, want %s %s %v", tt.name, i, k.Ref, k.UID, k.SortValue, w.Ref, w.UID, w.SortValue)
			}
			if k.Body != nil || k.Relations != nil || k.Hash != "" {
				t.Errorf("%s: item %d: got body %d bytes, %d relations, hash %q; want none", tt.name, i, len(k.Body), len(k.Relations), k.Hash)
			}
			if w.Body == nil || len(w.Relations) == 0 {
				t.Errorf("%s: item %d read whole: got body %d bytes, %d relations; want both", tt.name, i, len(w.Body), len(w.Relations))
			}
		}
	}
}
