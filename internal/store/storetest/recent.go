package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/store"
)

// testRecent: EntityRecent lists the most recently written entities
// newest first, and a rewrite moves an entity to the front.
func testRecent(t *testing.T, d store.Driver) {
	ctx := context.Background()
	for _, name := range []string{"a", "b", "c"} {
		upsert(t, d, newEnt("Component", name))
		time.Sleep(2 * time.Millisecond)
	}
	recent := func(limit int, want ...string) {
		t.Helper()
		got, err := d.EntityRecent(ctx, limit)
		if err != nil {
			t.Fatalf("EntityRecent: %v", err)
		}
		eq(t, "recent", got, want)
	}
	recent(10, "component:default/c", "component:default/b", "component:default/a")
	upsert(t, d, newEnt("Component", "a").withHash("changed"))
	recent(2, "component:default/a", "component:default/c")
}
