package engine

import (
	"testing"

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
	c := newEntityCache(1 << 20)
	c.put(raw, 1)
	if _, got := c.stats(); got < int64(c.chunkBytes) {
		t.Errorf("entity cache: got %d bytes, want at least its chunk's %d", got, c.chunkBytes)
	}
}
