package sqlite

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
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
