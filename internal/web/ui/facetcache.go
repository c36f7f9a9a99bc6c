package ui

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/store"
)

// facetCache keeps facet counts until the catalog changes. Counting facets
// over a large catalog costs far more than a page of entities, and the
// same few counts (entities per kind, the facets of each kind) are asked
// for on every list page. Any change event invalidates every entry.
type facetCache struct {
	gen     atomic.Uint64
	mu      sync.Mutex
	entries map[string]facetEntry
	max     int
}

type facetEntry struct {
	gen    uint64
	counts map[string][]store.FacetCount
}

// invalidate drops every entry (lazily: entries of older generations are
// never returned).
func (c *facetCache) invalidate() { c.gen.Add(1) }

// get returns the counts for facets under filter, computing them with
// count when they are not cached for the current generation.
func (c *facetCache) get(ctx context.Context, facets []string, filter *catalog.Filter,
	count func(context.Context, []string, *catalog.Filter) (map[string][]store.FacetCount, error)) (map[string][]store.FacetCount, error) {
	fb, err := json.Marshal(filter)
	if err != nil {
		return nil, err
	}
	key := strings.Join(facets, "\x00") + "\x01" + string(fb)
	gen := c.gen.Load()
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && e.gen == gen {
		return e.counts, nil
	}
	counts, err := count(ctx, facets, filter)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.entries == nil || len(c.entries) >= c.max {
		c.entries = map[string]facetEntry{}
	}
	c.entries[key] = facetEntry{gen: gen, counts: counts}
	c.mu.Unlock()
	return counts, nil
}

// facetCounts is Catalog.Facets through the cache. Without change events
// (no Subscribe) nothing would invalidate it, so it is not used.
func (u *UI) facetCounts(ctx context.Context, facets []string, filter *catalog.Filter) (map[string][]store.FacetCount, error) {
	if u.p.Subscribe == nil {
		return u.p.Catalog.Facets(ctx, facets, filter)
	}
	return u.facets.get(ctx, facets, filter, u.p.Catalog.Facets)
}
