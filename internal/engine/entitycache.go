package engine

import (
	"sync"
	"time"
)

// DefaultEntityCacheBytes is the default budget of the entity cache.
const DefaultEntityCacheBytes = 16 << 20

// entityCache keeps the final JSON of recently read entities, by ref and by
// uid, within a byte budget. An entry is served only under the generation
// of the store cache it was read in and for at most maxAge, so every write
// through the engine invalidates it at once and another replica's writes
// after at most maxAge. When the budget is exceeded the oldest entries go
// first.
type entityCache struct {
	budget int64 // <= 0: no caching
	maxAge time.Duration
	now    func() time.Time

	mu    sync.Mutex
	byRef map[string]*cachedEntity
	byUID map[string]*cachedEntity
	fifo  []*cachedEntity
	head  int
	bytes int64
}

type cachedEntity struct {
	raw  *Raw
	gen  uint64
	at   time.Time
	size int64
	gone bool // replaced or evicted
}

func newEntityCache(budget int64, maxAge time.Duration, now func() time.Time) *entityCache {
	if now == nil {
		now = time.Now
	}
	return &entityCache{budget: budget, maxAge: maxAge, now: now,
		byRef: map[string]*cachedEntity{}, byUID: map[string]*cachedEntity{}}
}

func (c *entityCache) enabled() bool { return c != nil && c.budget > 0 && c.maxAge > 0 }

// get returns the entry under key in m when it is current for gen.
func (c *entityCache) get(byUID bool, key string, gen uint64) *Raw {
	if !c.enabled() {
		return nil
	}
	c.mu.Lock()
	m := c.byRef
	if byUID {
		m = c.byUID
	}
	e := m[key]
	c.mu.Unlock()
	if e == nil || e.gen != gen || c.now().Sub(e.at) >= c.maxAge {
		return nil
	}
	return e.raw
}

// put remembers raw as read under gen, read at at.
func (c *entityCache) put(raw *Raw, gen uint64, at time.Time) {
	if !c.enabled() {
		return
	}
	// The JSON by its capacity (what its allocation holds); the rest is
	// the entry, the Raw, the two map slots, the queue slot and the
	// rounding of the strings' allocations (measured: about 220 bytes).
	size := int64(cap(raw.JSON)+len(raw.Ref)+len(raw.UID)) + 224
	if size > c.budget/8 {
		return // one entity must not push out a large part of the cache
	}
	e := &cachedEntity{raw: raw, gen: gen, at: at, size: size}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.byRef[raw.Ref]; old != nil {
		c.drop(old)
	}
	if old := c.byUID[raw.UID]; old != nil {
		c.drop(old)
	}
	c.byRef[raw.Ref] = e
	c.byUID[raw.UID] = e
	c.fifo = append(c.fifo, e)
	c.bytes += size
	for c.bytes > c.budget && c.head < len(c.fifo) {
		old := c.fifo[c.head]
		c.fifo[c.head] = nil
		c.head++
		if !old.gone {
			c.drop(old)
		}
	}
	// Compact the queue once replaced entries and its consumed front are
	// most of it, so that re-reading the same entities does not grow it.
	if live := len(c.byRef); len(c.fifo) > 1024 && len(c.fifo) > 2*live {
		n := 0
		for _, q := range c.fifo[c.head:] {
			if !q.gone {
				c.fifo[n] = q
				n++
			}
		}
		clear(c.fifo[n:])
		c.fifo = c.fifo[:n]
		c.head = 0
	}
}

// drop forgets e; c.mu is held.
func (c *entityCache) drop(e *cachedEntity) {
	e.gone = true
	c.bytes -= e.size
	if c.byRef[e.raw.Ref] == e {
		delete(c.byRef, e.raw.Ref)
	}
	if c.byUID[e.raw.UID] == e {
		delete(c.byUID, e.raw.UID)
	}
}

// stats returns the number of entries and their bytes.
func (c *entityCache) stats() (entries int, bytes int64) {
	if c == nil {
		return 0, 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.byRef), c.bytes
}
