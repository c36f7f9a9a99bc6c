package engine

import (
	"context"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// DefaultAnswerCacheBytes is the default budget of the answer cache.
const DefaultAnswerCacheBytes = 16 << 20

// answerOverhead is what one entry costs besides its key and value: the
// map slot, the entry and its place in the eviction queue.
const answerOverhead = 160

// answerCache keeps read answers (facet counts, list totals, pages of
// final JSON) within a byte budget. An answer is served only under the
// store cache's generation it was read in and for at most maxAge, so a
// write through the engine hides it at once and another replica's writes
// after at most maxAge. When the budget is exceeded the oldest answers go
// first, one by one: a catalog page's many variants (teams × types) do
// not empty the cache all at once. Concurrent identical misses in the
// same generation share one read.
//
// Keys must name everything the answer depends on, the caller's
// authorization included: callers key on the filter the store is asked
// with, which holds the caller's read conditions.
type answerCache struct {
	budget int64 // <= 0: no caching
	maxAge time.Duration
	now    func() time.Time

	flights singleflight.Group
	mu      sync.Mutex
	m       map[string]*answer
	fifo    []*answer
	head    int
	gone    int // dropped answers still in fifo[head:]
	bytes   int64
}

type answer struct {
	key  string
	gen  uint64
	at   time.Time
	took time.Duration // how long the read took
	val  any
	size int64
	gone bool // replaced or evicted
	// refreshing is set once a read ahead of expiry has started.
	refreshing bool
}

func newAnswerCache(budget int64, maxAge time.Duration, now func() time.Time) *answerCache {
	if now == nil {
		now = time.Now
	}
	return &answerCache{budget: budget, maxAge: maxAge, now: now, m: map[string]*answer{}}
}

func (c *answerCache) enabled() bool { return c != nil && c.budget > 0 && c.maxAge > 0 }

// get returns the answer under key when it was read in gen less than
// maxAge ago. A stale answer is dropped.
func (c *answerCache) get(key string, gen uint64) (any, bool) {
	v, ok, _ := c.lookup(key, gen)
	return v, ok
}

// lookup is get that also reports whether the answer is close enough to
// its maximum age to be read again now, ahead of expiry (once per answer).
func (c *answerCache) lookup(key string, gen uint64) (val any, ok, refresh bool) {
	if !c.enabled() {
		return nil, false, false
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.m[key]
	if a == nil {
		return nil, false, false
	}
	age := now.Sub(a.at)
	if a.gen != gen || age >= c.maxAge {
		c.drop(a)
		return nil, false, false
	}
	if !a.refreshing && age >= c.refreshAt(a.took) {
		a.refreshing = true
		refresh = true
	}
	return a.val, true, refresh
}

// refreshAt is the age from which an answer whose read took took is read
// again ahead of expiry: early enough for the new read to end before the
// answer expires (twice its last duration, and a tenth of maxAge, before),
// but not before half of maxAge.
func (c *answerCache) refreshAt(took time.Duration) time.Duration {
	return max(c.maxAge/2, c.maxAge-2*took-c.maxAge/10)
}

// put remembers val, of about size bytes, as read under gen at at.
func (c *answerCache) put(key string, gen uint64, at time.Time, val any, size int64) {
	c.putRead(key, gen, at, 0, val, size)
}

// putRead is put for a read that took took.
func (c *answerCache) putRead(key string, gen uint64, at time.Time, took time.Duration, val any, size int64) {
	if !c.enabled() {
		return
	}
	size += int64(len(key)) + answerOverhead
	if size > c.budget/8 {
		return // one answer must not push out a large part of the cache
	}
	a := &answer{key: key, gen: gen, at: at, took: took, val: val, size: size}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.m[key]; old != nil {
		if old.gen > gen || (old.gen == gen && old.at.After(at)) {
			return // a newer answer stays
		}
		c.drop(old)
	}
	c.m[key] = a
	c.fifo = append(c.fifo, a)
	c.bytes += size
	for c.bytes > c.budget && c.head < len(c.fifo) {
		old := c.fifo[c.head]
		c.fifo[c.head] = nil
		c.head++
		if old.gone {
			c.gone--
		} else {
			c.drop(old)
			c.gone--
		}
	}
	// Answers replaced or expired leave their slots behind: compact the
	// queue once they and the consumed front are most of it, so that it
	// stays proportional to the answers held.
	if dead := c.head + c.gone; dead > 64 && dead*2 > len(c.fifo) {
		live := c.fifo[:0]
		for _, e := range c.fifo[c.head:] {
			if !e.gone {
				live = append(live, e)
			}
		}
		clear(c.fifo[len(live):])
		c.fifo, c.head, c.gone = live, 0, 0
	}
}

// drop removes a from the map; its queue slot is skipped later.
func (c *answerCache) drop(a *answer) {
	if a.gone {
		return
	}
	a.gone = true
	a.val = nil // the queue may hold a for a while: not its answer
	c.gone++
	c.bytes -= a.size
	if c.m[a.key] == a {
		delete(c.m, a.key)
	}
}

// len returns the number of answers held.
func (c *answerCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// do returns the answer under key for gen, reading it with read on a miss;
// concurrent misses of the same key and generation share one read, which
// is not cancelled when one of its callers gives up. read returns the
// answer and its size in bytes. ran reports whether this caller's read
// ran (false for a hit or an answer shared from another caller's read).
//
// An answer that is about to reach its maximum age is read again in the
// background by the first caller that finds it so, while it is still
// served: a hot answer (a catalog page's totals) never expires under its
// readers, who would otherwise all wait for the next read together. The
// new read starts later than the old one, so the maximum age still bounds
// how old a served answer is.
func (c *answerCache) do(ctx context.Context, key string, gen uint64, read func(context.Context) (any, int64, error)) (val any, ran bool, err error) {
	if !c.enabled() {
		v, _, err := read(ctx)
		return v, true, err
	}
	if v, ok, refresh := c.lookup(key, gen); ok {
		if refresh {
			go func() { _, _ = c.flight(context.WithoutCancel(ctx), key, gen, read) }()
		}
		return v, false, nil
	}
	v, err := c.flight(ctx, key, gen, func(ctx context.Context) (any, int64, error) {
		ran = true
		return read(ctx)
	})
	return v, ran, err
}

// flight reads the answer under key for gen, sharing the read with
// concurrent callers of the same key and generation, and caches it.
func (c *answerCache) flight(ctx context.Context, key string, gen uint64, read func(context.Context) (any, int64, error)) (any, error) {
	// The flight key carries the generation: a read that started before a
	// write is never shared with one that starts after it.
	v, err, _ := c.flights.Do(key+"\x00"+strconv.FormatUint(gen, 10), func() (any, error) {
		at := c.now()
		v, size, err := read(context.WithoutCancel(ctx))
		if err != nil {
			return nil, err
		}
		c.putRead(key, gen, at, c.now().Sub(at), v, size)
		return v, nil
	})
	return v, err
}
