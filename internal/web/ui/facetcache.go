package ui

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/atrium-portal/atrium/internal/auth"
	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/store"
)

// facetRefreshTimeout bounds one background recount.
const facetRefreshTimeout = 2 * time.Minute

// facetCache keeps facet counts per caller until the catalog changes.
// Counting facets over a large catalog costs far more than a page of
// entities (seconds at 100k entities), and the same few counts (entities
// per kind, the facets of each kind) are asked for on every list page.
//
// Counts depend on what the caller may read (the permission policy
// filters them), so entries are keyed by the caller as well as the query:
// one user's counts are never shown to another.
//
// After a change event the cached counts are stale. The next view starts
// one recount (concurrent views share it) and waits up to wait for it;
// when the recount takes longer, the view shows the stale counts (at most
// maxStale old) and the recount finishes in the background for the views
// after it. Small catalogs therefore always show fresh counts, and large
// ones stay fast while they change.
type facetCache struct {
	wait     time.Duration // how long a view waits for a recount; <= 0: not at all
	maxStale time.Duration // stale counts older than this are never shown
	max      int           // entries kept; when full the cache starts over
	now      func() time.Time

	gen     atomic.Uint64
	flights singleflight.Group
	mu      sync.Mutex
	entries map[string]facetEntry
}

type facetEntry struct {
	gen    uint64
	at     time.Time
	counts map[string][]store.FacetCount
}

// invalidate makes every entry stale (lazily: entries of older generations
// are recounted before they are served fresh).
func (c *facetCache) invalidate() { c.gen.Add(1) }

// callerKey identifies what the permission policy may look at: who calls,
// through which groups, with which scopes and claims.
func callerKey(ctx context.Context) (string, error) {
	p := auth.PrincipalFrom(ctx)
	if p == nil {
		return "-", nil
	}
	owners := slices.Clone(p.OwnershipRefs)
	slices.Sort(owners)
	scopes := slices.Clone(p.Scopes)
	slices.Sort(scopes)
	b, err := json.Marshal(struct {
		T      auth.PrincipalType
		R      string
		O, S   []string
		Claims map[string]any
	}{p.Type, p.Ref, owners, scopes, p.Claims})
	return string(b), err
}

// get returns the counts for facets under filter as the caller in ctx may
// see them, computing them with count when they are not cached.
func (c *facetCache) get(ctx context.Context, facets []string, filter *catalog.Filter,
	count func(context.Context, []string, *catalog.Filter) (map[string][]store.FacetCount, error)) (map[string][]store.FacetCount, error) {
	fb, err := json.Marshal(filter)
	if err != nil {
		return nil, err
	}
	who, err := callerKey(ctx)
	if err != nil {
		return nil, err
	}
	key := who + "\x02" + strings.Join(facets, "\x00") + "\x01" + string(fb)
	gen := c.gen.Load()
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && e.gen == gen {
		return e.counts, nil
	}
	// The recount runs detached from this request (it keeps the caller's
	// identity), so a view that stops waiting does not cancel it.
	ch := c.flights.DoChan(key, func() (any, error) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), facetRefreshTimeout)
		defer cancel()
		counts, err := count(rctx, facets, filter)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		if c.entries == nil || len(c.entries) >= c.max {
			c.entries = map[string]facetEntry{}
		}
		c.entries[key] = facetEntry{gen: gen, at: c.now(), counts: counts}
		c.mu.Unlock()
		return counts, nil
	})
	if !ok || c.now().Sub(e.at) > c.maxStale {
		select {
		case r := <-ch:
			if r.Err != nil {
				return nil, r.Err
			}
			return r.Val.(map[string][]store.FacetCount), nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	var timeout <-chan time.Time
	if c.wait > 0 {
		t := time.NewTimer(c.wait)
		defer t.Stop()
		timeout = t.C
	} else {
		// Not waiting at all: take the result only if it is already there.
		select {
		case r := <-ch:
			if r.Err == nil {
				return r.Val.(map[string][]store.FacetCount), nil
			}
		default:
		}
		return e.counts, nil
	}
	select {
	case r := <-ch:
		if r.Err == nil {
			return r.Val.(map[string][]store.FacetCount), nil
		}
		return e.counts, nil // a failed recount: the last good counts
	case <-timeout:
		return e.counts, nil
	case <-ctx.Done():
		return e.counts, nil
	}
}

// facetCounts is Catalog.Facets through the cache. Without change events
// (no Subscribe) nothing would invalidate it, so it is not used.
func (u *UI) facetCounts(ctx context.Context, facets []string, filter *catalog.Filter) (map[string][]store.FacetCount, error) {
	if u.p.Subscribe == nil {
		return u.p.Catalog.Facets(ctx, facets, filter)
	}
	return u.facets.get(ctx, facets, filter, u.p.Catalog.Facets)
}
