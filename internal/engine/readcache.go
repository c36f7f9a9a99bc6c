package engine

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/atrium-portal/atrium/internal/store"
)

// DefaultReadCacheMaxAge is how long a cached read is served when nothing
// is written through this engine meanwhile. It bounds how stale a read can
// be after another replica sharing the database writes.
const DefaultReadCacheMaxAge = 5 * time.Second

// maxCachedReads bounds the cached reads; when full the cache starts over.
const maxCachedReads = 512

// cachedStore is the engine's store with a cache of facet counts, the
// read that visits every entity and that portals issue on every catalog
// page view. Any entity write through it invalidates the whole cache: a
// generation counter is bumped after the write, and only results read
// under the current generation are served, so a write is never hidden by
// a result computed before it. Concurrent identical misses share one
// query.
type cachedStore struct {
	store.Driver
	maxAge time.Duration // <= 0: no caching
	now    func() time.Time

	gen     atomic.Uint64
	flights singleflight.Group
	mu      sync.Mutex
	facets  map[string]cachedFacets
	counts  map[string]cachedCount // list totals by filter
}

type cachedCount struct {
	gen uint64
	at  time.Time
	n   int
}

// EntityList serves the total of a page (CountTotal) from the cache when
// it was counted for the same filter and full-text filter in the current
// generation less than maxAge ago: counting visits every match, which on
// a large catalog costs far more than the page, and paging clients ask for
// the same total page after page.
func (c *cachedStore) EntityList(ctx context.Context, p store.EntityListParams) (store.EntityListResult, error) {
	if c.maxAge <= 0 || !p.CountTotal {
		return c.Driver.EntityList(ctx, p)
	}
	kb, err := json.Marshal(struct {
		F  any
		FT any
	}{p.Filter, p.FullText})
	if err != nil {
		return c.Driver.EntityList(ctx, p)
	}
	key := string(kb)
	gen := c.gen.Load()
	at := c.now()
	c.mu.Lock()
	hit, ok := c.counts[key]
	c.mu.Unlock()
	if ok && hit.gen == gen && at.Sub(hit.at) < c.maxAge {
		p.CountTotal = false
		res, err := c.Driver.EntityList(ctx, p)
		res.Total = hit.n
		return res, err
	}
	res, err := c.Driver.EntityList(ctx, p)
	if err != nil {
		return res, err
	}
	c.mu.Lock()
	if c.counts == nil || len(c.counts) >= maxCachedReads {
		c.counts = map[string]cachedCount{}
	}
	c.counts[key] = cachedCount{gen: gen, at: at, n: res.Total}
	c.mu.Unlock()
	return res, nil
}

type cachedFacets struct {
	gen uint64
	at  time.Time
	val map[string][]store.FacetCount
}

// readCacheMaxAge applies the default to Config.ReadCacheMaxAge.
func readCacheMaxAge(d time.Duration) time.Duration {
	if d == 0 {
		return DefaultReadCacheMaxAge
	}
	return d
}

// entityCacheBytes applies the default to Config.EntityCacheBytes.
func entityCacheBytes(n int64) int64 {
	if n == 0 {
		return DefaultEntityCacheBytes
	}
	return n
}

func newCachedStore(d store.Driver, maxAge time.Duration, now func() time.Time) *cachedStore {
	if now == nil {
		now = time.Now
	}
	return &cachedStore{Driver: d, maxAge: maxAge, now: now, facets: map[string]cachedFacets{}}
}

// invalidate starts a new generation: every cached read becomes stale.
func (c *cachedStore) invalidate() { c.gen.Add(1) }

// EntityUpsert writes through and invalidates the cache.
func (c *cachedStore) EntityUpsert(ctx context.Context, p store.EntityUpsertParams) (store.EntityUpsertResult, error) {
	defer c.invalidate()
	return c.Driver.EntityUpsert(ctx, p)
}

// EntityDelete writes through and invalidates the cache.
func (c *cachedStore) EntityDelete(ctx context.Context, refs []string) error {
	defer c.invalidate()
	return c.Driver.EntityDelete(ctx, refs)
}

// BulkEnd ends the store's bulk load and invalidates the cache.
func (c *cachedStore) BulkEnd(ctx context.Context) error {
	defer c.invalidate()
	return c.Driver.BulkEnd(ctx)
}

// EntityFacets serves facet counts from the cache when they were counted
// in the current generation less than maxAge ago.
func (c *cachedStore) EntityFacets(ctx context.Context, p store.EntityFacetsParams) (map[string][]store.FacetCount, error) {
	if c.maxAge <= 0 {
		return c.Driver.EntityFacets(ctx, p)
	}
	kb, err := json.Marshal(p)
	if err != nil {
		return c.Driver.EntityFacets(ctx, p)
	}
	key := string(kb)
	gen := c.gen.Load()
	c.mu.Lock()
	hit, ok := c.facets[key]
	c.mu.Unlock()
	if ok && hit.gen == gen && c.now().Sub(hit.at) < c.maxAge {
		return copyFacets(hit.val), nil
	}
	// The flight key carries the generation: a read that started before a
	// write is never shared with one that starts after it.
	v, err, _ := c.flights.Do(key+"\x00"+strconv.FormatUint(gen, 10), func() (any, error) {
		at := c.now()
		val, err := c.Driver.EntityFacets(context.WithoutCancel(ctx), p)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		if len(c.facets) >= maxCachedReads {
			clear(c.facets)
		}
		c.facets[key] = cachedFacets{gen: gen, at: at, val: val}
		c.mu.Unlock()
		return val, nil
	})
	if err != nil {
		return nil, err
	}
	return copyFacets(v.(map[string][]store.FacetCount)), nil
}

// copyFacets returns a copy callers may change without touching the cache.
func copyFacets(m map[string][]store.FacetCount) map[string][]store.FacetCount {
	out := make(map[string][]store.FacetCount, len(m))
	for k, v := range m {
		out[k] = append([]store.FacetCount(nil), v...)
	}
	return out
}
