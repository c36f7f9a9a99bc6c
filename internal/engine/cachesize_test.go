package engine

import (
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/store"
)

// TestCacheSizesCountCapacity: the caches account what their values hold,
// not what they show: a slice's whole allocation (its capacity), so that a
// byte budget bounds the memory the cache keeps alive.
func TestCacheSizesCountCapacity(t *testing.T) {
	json := make([]byte, 10, 4096)
	raw := &Raw{Ref: "component:default/a", UID: "uid-a", JSON: json}
	if got := pageSize(&RawPage{Items: []*Raw{raw}}); got < 4096 {
		t.Errorf("page: got %d bytes, want at least the JSON's capacity 4096", got)
	}
	facets := map[string][]store.FacetCount{"kind": make([]store.FacetCount, 1, 1000)}
	if got := facetsSize(facets); got < 24_000 {
		t.Errorf("facets: got %d bytes, want at least the list's capacity 24000", got)
	}
	now := time.Unix(1000, 0)
	c := newEntityCache(1<<20, time.Minute, func() time.Time { return now })
	c.put(raw, 1, now)
	if _, got := c.stats(); got < 4096 {
		t.Errorf("entity cache: got %d bytes, want at least the JSON's capacity 4096", got)
	}
}
