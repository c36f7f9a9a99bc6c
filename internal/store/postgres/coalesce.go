package postgres

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/atrium-portal/atrium/internal/catalog"
)

// DefaultLookupBatch is the default bound on the lookups one coalesced
// statement carries; see Config.LookupBatch.
const DefaultLookupBatch = 64

// lookupStatements is how many coalesced statements of one kind (by ref,
// by uid) may be in flight at once. One keeps the statements few and their
// batches large; a second lets the database answer one batch while the
// process decodes and sends the answers of the other, which on two cores
// served more lookups per second than either one or four.
const lookupStatements = 2

// fetchFunc reads the entities under keys in one statement and calls row
// for each one it finds, with the key it was found under; err of a row is
// that entity's own (unreadable) error. The returned error is the
// statement's.
type fetchFunc func(ctx context.Context, keys []string, row func(key string, s *catalog.Stored, err error)) error

// coalescer runs concurrent lookups of single entities by one key (ref or
// uid) as few statements: while lookupStatements statements are in flight,
// the lookups that arrive queue, and when one of those statements returns,
// the queue (up to maxBatch) is sent as the next one. An idle store
// therefore sends each lookup at once, alone, and a busy one pays one round
// trip, one plan and one executor start for many. A lookup is only ever
// answered by a statement sent after it was asked, so it sees every write
// committed before it.
//
// Each caller gets its own answer or NotFound, and returns as soon as its
// own context ends; a statement carrying the lookups of several callers
// runs under a context of its own that ends when the store closes or when
// every one of them has given up. An error of that statement reaches each
// of them.
type coalescer struct {
	fetch    fetchFunc
	maxBatch int
	// life bounds the statements of batches (DB.life).
	life context.Context

	mu      sync.Mutex
	running int       // statements in flight, at most lookupStatements
	queue   []*lookup // waiting for a statement; non-empty only while running == lookupStatements

	// statements counts the statements sent, for tests.
	statements atomic.Int64
}

// lookup is one caller's lookup while it waits in a batch.
type lookup struct {
	key   string
	batch *batch // set, under coalescer.mu, when the lookup leaves the queue
	done  chan struct{}
	s     *catalog.Stored
	err   error
}

// batch is the context of one statement sent for queued lookups.
type batch struct {
	ctx     context.Context
	cancel  context.CancelFunc
	waiting atomic.Int32 // callers still waiting for the answer
}

func newCoalescer(life context.Context, maxBatch int, fetch fetchFunc) *coalescer {
	if maxBatch <= 0 {
		maxBatch = DefaultLookupBatch
	}
	return &coalescer{fetch: fetch, maxBatch: maxBatch, life: life}
}

// get returns the entity under key, nil when there is none.
func (c *coalescer) get(ctx context.Context, key string) (*catalog.Stored, error) {
	if c.maxBatch == 1 {
		return c.alone(ctx, key)
	}
	c.mu.Lock()
	if c.running < lookupStatements {
		// Nothing waits: send this lookup now, under the caller's context.
		c.running++
		c.mu.Unlock()
		s, err := c.alone(ctx, key)
		c.next()
		return s, err
	}
	l := &lookup{key: key, done: make(chan struct{})}
	c.queue = append(c.queue, l)
	c.mu.Unlock()

	select {
	case <-l.done:
		return l.s, l.err
	case <-ctx.Done():
	}
	c.mu.Lock()
	b := l.batch
	if b == nil {
		if i := slices.Index(c.queue, l); i >= 0 {
			c.queue = slices.Delete(c.queue, i, i+1)
		}
	}
	c.mu.Unlock()
	if b != nil && b.waiting.Add(-1) == 0 {
		b.cancel() // nobody is left to read the answer
	}
	return nil, dbErr(ctx, ctx.Err(), "read entity")
}

// alone runs one lookup as its own statement under ctx.
func (c *coalescer) alone(ctx context.Context, key string) (s *catalog.Stored, err error) {
	c.statements.Add(1)
	ferr := c.fetch(ctx, []string{key}, func(_ string, rs *catalog.Stored, rerr error) {
		if s == nil && err == nil {
			s, err = rs, rerr
		}
	})
	if ferr != nil {
		return nil, ferr
	}
	return s, err
}

// next is called when a statement returns: it sends the queued lookups,
// batch after batch, until the queue is empty, or gives the statement's
// slot back when nothing waits. The caller whose statement returned goes
// back with its answer at once; the batches run on a goroutine of their
// own.
func (c *coalescer) next() {
	c.mu.Lock()
	if len(c.queue) == 0 {
		c.running--
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	go c.drain()
}

// drain sends the queue as statements of up to maxBatch lookups, one after
// the other, holding one statement slot; it gives the slot back when the
// queue is empty.
func (c *coalescer) drain() {
	for {
		c.mu.Lock()
		if len(c.queue) == 0 {
			c.running--
			c.mu.Unlock()
			return
		}
		n := min(len(c.queue), c.maxBatch)
		ls := slices.Clone(c.queue[:n])
		c.queue = slices.Delete(c.queue, 0, n)
		b := &batch{}
		b.ctx, b.cancel = context.WithCancel(c.life)
		b.waiting.Store(int32(n))
		for _, l := range ls {
			l.batch = b
		}
		c.mu.Unlock()
		c.run(b, ls)
	}
}

// run sends one statement for ls and hands each lookup its answer.
func (c *coalescer) run(b *batch, ls []*lookup) {
	defer b.cancel()
	keys := make([]string, len(ls))
	for i, l := range ls {
		keys[i] = l.key
	}
	c.statements.Add(1)
	// A row goes to every lookup of its key (a key may be asked twice);
	// the lookups no row went to found nothing.
	// Small batches find a row's lookups by scanning them; large ones
	// through a map.
	var byKey map[string][]*lookup
	if len(ls) > 16 {
		byKey = make(map[string][]*lookup, len(ls))
		for _, l := range ls {
			byKey[l.key] = append(byKey[l.key], l)
		}
	}
	err := c.fetch(b.ctx, keys, func(key string, s *catalog.Stored, rerr error) {
		same := ls
		if byKey != nil {
			same = byKey[key]
		}
		first := true
		for _, l := range same {
			if l.key != key || l.s != nil || l.err != nil {
				continue
			}
			switch {
			case rerr != nil:
				l.err = rerr
			case first:
				l.s = s
			default:
				l.s = cloneStored(s) // each caller owns what it gets
			}
			first = false
		}
	})
	for _, l := range ls {
		if err != nil {
			l.s, l.err = nil, err
		}
		close(l.done)
	}
}

// cloneStored returns a copy of s that shares no memory with it.
func cloneStored(s *catalog.Stored) *catalog.Stored {
	c := *s
	c.Body = slices.Clone(s.Body)
	c.Relations = slices.Clone(s.Relations)
	c.Errors = slices.Clone(s.Errors)
	for i, it := range c.Errors {
		if it.Error != nil {
			e := *it.Error
			c.Errors[i].Error = &e
		}
	}
	if s.SortValue != nil {
		v := *s.SortValue
		c.SortValue = &v
	}
	return &c
}
