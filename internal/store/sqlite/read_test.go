package sqlite

import (
	"context"
	"testing"

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
