package engine

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"time"

	"github.com/atrium-portal/atrium/internal/store"
)

// DefaultReadCacheMaxAge is how long a cached read is served when nothing
// is written through this engine meanwhile. It bounds how stale a read can
// be after another replica sharing the database writes.
const DefaultReadCacheMaxAge = 5 * time.Second

// cachedStore is the engine's store with a cache of facet counts and list
// totals, the reads that visit every match and that portals issue on every
// catalog page view. Any entity write through it invalidates the whole
// cache: a generation counter is bumped after the write, and only results
// read under the current generation are served, so a write is never hidden
// by a result computed before it. Concurrent identical misses share one
// query. The answers share the engine's answer cache (readcache_answers.go),
// bounded in bytes.
type cachedStore struct {
	store.Driver
	maxAge  time.Duration // <= 0: no caching
	now     func() time.Time
	gen     atomic.Uint64
	answers *answerCache
}

// EntityList serves the total of a page (CountTotal) from the cache when
// it was counted for the same filter and full-text filter in the current
// generation less than maxAge ago: counting visits every match, which on
// a large catalog costs far more than the page, and paging clients ask for
// the same total page after page. Concurrent pages of one filter that miss
// share one count: the first runs its page with the count, the others then
// run theirs without. A count alone (CountOnly) is answered by the count.
func (c *cachedStore) EntityList(ctx context.Context, p store.EntityListParams) (store.EntityListResult, error) {
	if !c.answers.enabled() || !(p.CountTotal || p.CountOnly) {
		return c.Driver.EntityList(ctx, p)
	}
	var own store.EntityListResult
	v, ran, err := c.answers.do(ctx, countKey(p.Filter, p.FullText), c.gen.Load(), func(ctx context.Context) (any, int64, error) {
		res, err := c.Driver.EntityList(ctx, p)
		if err != nil {
			return nil, 0, err
		}
		own = res
		return res.Total, 8, nil
	})
	if err != nil {
		return store.EntityListResult{}, err
	}
	if ran {
		return own, nil
	}
	if p.CountOnly {
		return store.EntityListResult{Total: v.(int)}, nil
	}
	p.CountTotal = false
	res, err := c.Driver.EntityList(ctx, p)
	res.Total = v.(int)
	return res, err
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

// answerCacheBytes applies the default to Config.AnswerCacheBytes.
func answerCacheBytes(n int64) int64 {
	if n == 0 {
		return DefaultAnswerCacheBytes
	}
	return n
}

// newCachedStore returns d with its reads cached in an answer cache of
// budget bytes (<= 0: none) for at most maxAge (<= 0: no caching).
func newCachedStore(d store.Driver, maxAge time.Duration, budget int64, now func() time.Time) *cachedStore {
	if now == nil {
		now = time.Now
	}
	return &cachedStore{Driver: d, maxAge: maxAge, now: now, answers: newAnswerCache(budget, maxAge, now)}
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
	if !c.answers.enabled() {
		return c.Driver.EntityFacets(ctx, p)
	}
	kb, err := json.Marshal(p)
	if err != nil {
		return c.Driver.EntityFacets(ctx, p)
	}
	v, _, err := c.answers.do(ctx, "facets\x00"+string(kb), c.gen.Load(), func(ctx context.Context) (any, int64, error) {
		val, err := c.Driver.EntityFacets(ctx, p)
		if err != nil {
			return nil, 0, err
		}
		return val, facetsSize(val), nil
	})
	if err != nil {
		return nil, err
	}
	return copyFacets(v.(map[string][]store.FacetCount)), nil
}

// facetsSize estimates the memory of facet counts as held: each list by
// its capacity (a FacetCount is 24 bytes), each value's bytes, each map
// entry.
func facetsSize(m map[string][]store.FacetCount) int64 {
	n := int64(48)
	for k, v := range m {
		n += int64(len(k)) + 64 + int64(cap(v))*24
		for _, fc := range v {
			n += int64(len(fc.Value))
		}
	}
	return n
}

// copyFacets returns a copy callers may change without touching the cache.
func copyFacets(m map[string][]store.FacetCount) map[string][]store.FacetCount {
	out := make(map[string][]store.FacetCount, len(m))
	for k, v := range m {
		out[k] = append([]store.FacetCount(nil), v...)
	}
	return out
}
