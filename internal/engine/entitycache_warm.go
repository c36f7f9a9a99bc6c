package engine

import (
	"bytes"
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/s2"

	"github.com/atrium-portal/atrium/internal/store"
)

// DefaultEntityCacheWarmAfter is how long the catalog must be quiet (no
// write through the engine) before the warmer fills the entity cache.
const DefaultEntityCacheWarmAfter = time.Second

// warmBatch is how many entities one step of the warmer reads.
const warmBatch = 100

// cacheValidity decides whether the entity cache's entries may be served.
// Writes through the engine start a new generation at once; the writes of
// other processes sharing the database are found by reading its change
// log (store.Driver.EntityChangesSince): a check that finds a change
// starts a new generation, and entries are served only until maxAge after
// the start of the last successful check. Every write committed before a
// check's read of the log is then either in the entries or hid them, so a
// write by another replica is hidden for less than maxAge. While entries
// are served, the engine's background loop checks again before the
// validity runs out; a request that finds it run out checks itself (one
// at a time, the others wait for its answer).
type cacheValidity struct {
	maxAge     time.Duration
	now        func() time.Time
	store      store.Driver
	invalidate func()
	// until is when serving stops (Unix nanoseconds) unless a check
	// succeeds meanwhile.
	until atomic.Int64
	kick  chan struct{}

	mu   sync.Mutex // one check at a time
	mark store.ChangeMark
}

func newCacheValidity(d store.Driver, maxAge time.Duration, now func() time.Time, invalidate func()) *cacheValidity {
	if now == nil {
		now = time.Now
	}
	return &cacheValidity{maxAge: maxAge, now: now, store: d, invalidate: invalidate, kick: make(chan struct{}, 1)}
}

// ensure reports whether cached entries may be served now, checking the
// log first when the last check no longer covers them. When the validity
// runs out soon it asks the background loop to check meanwhile.
func (v *cacheValidity) ensure(ctx context.Context) bool {
	if v == nil || v.maxAge <= 0 {
		return false
	}
	now := v.now().UnixNano()
	until := v.until.Load()
	if now < until {
		if until-now < int64(v.maxAge/4) {
			select {
			case v.kick <- struct{}{}:
			default:
			}
		}
		return true
	}
	if err := v.check(ctx, false); err != nil {
		return false
	}
	return v.now().UnixNano() < v.until.Load()
}

// check reads the change log: a change (or a failure to read it) starts a
// new generation; success extends the validity to maxAge after the check
// began. Unless force, it returns at once when another check left the
// validity far from running out.
func (v *cacheValidity) check(ctx context.Context, force bool) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !force && v.until.Load()-v.now().UnixNano() >= int64(v.maxAge/4) {
		return nil
	}
	// The check serves every request waiting on it: a caller's
	// cancellation must not fail it.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), v.maxAge)
	defer cancel()
	start := v.now()
	next, changed, err := v.store.EntityChangesSince(ctx, v.mark)
	if err != nil {
		v.mark = store.ChangeMark{}
		v.invalidate()
		return err
	}
	if changed {
		v.invalidate()
	}
	v.mark = next
	v.until.Store(start.Add(v.maxAge).UnixNano())
	return nil
}

// cacheLoop runs the entity cache's background work until Close: checks
// asked for by requests, and the warmer once the catalog is quiet.
func (e *Engine) cacheLoop(warmAfter time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-e.closed
		cancel()
	}()
	var tick <-chan time.Time
	if warmAfter > 0 {
		t := time.NewTicker(max(warmAfter/2, 10*time.Millisecond))
		defer t.Stop()
		tick = t.C
	}
	lastGen, quietSince := e.cs.gen.Load(), time.Now()
	var warmed atomic.Uint64
	warmed.Store(^uint64(0))
	// Every write starts a new generation, and reading the whole catalog
	// again after each one would cost a large catalog's replicas seconds
	// of CPU per write: the budget bounds the warmer's time. Between
	// warms the cache fills on misses.
	budget := newWarmBudget(time.Now())
	var warming sync.WaitGroup
	defer warming.Wait()
	busy := atomic.Bool{}
	for {
		select {
		case <-e.closed:
			return
		case <-e.valid.kick:
			if err := e.valid.check(ctx, false); err != nil && ctx.Err() == nil {
				e.log.Warn("entity cache: reading the change log failed", "err", err)
			}
		case <-tick:
			gen := e.cs.gen.Load()
			if gen != lastGen {
				lastGen, quietSince = gen, time.Now()
				continue
			}
			if gen == warmed.Load() || busy.Load() || time.Since(quietSince) < warmAfter ||
				!budget.allows(time.Now()) || e.loading() || e.passRunning() {
				continue
			}
			busy.Store(true)
			warming.Add(1)
			go func() {
				defer warming.Done()
				defer busy.Store(false)
				start := time.Now()
				g, ok := e.warm(ctx)
				if ok {
					warmed.Store(g)
				}
				budget.spend(time.Since(start))
			}()
		}
	}
}

// warmCredit is how long the warmer may run before its budget limits it,
// and warmShare the part of the time since then that it may run: a warm
// takes at most about half a core while it runs, so over time the warmer
// takes at most about 5 % of a core, however often the catalog is written,
// while the warms of a first load (interrupted by its later passes, then
// the one after it) run at once.
const (
	warmCredit = time.Minute
	warmShare  = 10 // 1/warmShare of the time
)

// warmBudget is the time the warmer may still spend.
type warmBudget struct {
	start time.Time
	spent atomic.Int64 // nanoseconds
}

func newWarmBudget(now time.Time) *warmBudget { return &warmBudget{start: now} }

// allows reports whether a warm may start at now.
func (b *warmBudget) allows(now time.Time) bool {
	return time.Duration(b.spent.Load()) < warmCredit+now.Sub(b.start)/warmShare
}

// spend records a warm that ran for d.
func (b *warmBudget) spend(d time.Duration) { b.spent.Add(int64(d)) }

// warm fills the entity cache with the catalog's entities, in ref order,
// in small batches, each followed by a pause as long as it took, so that
// it takes at most about half a core from requests. It stops at once on a
// new generation, when the cache is full, or on Close, and returns the
// generation it filled and whether it got to the end (or the budget).
func (e *Engine) warm(ctx context.Context) (uint64, bool) {
	// The log is read first, so that the generation filled is current
	// with every write committed so far (the writes that started it
	// included).
	if err := e.valid.check(ctx, true); err != nil {
		return 0, false
	}
	gen := e.cs.gen.Load()
	start := time.Now()
	if e.ents.needsDict() {
		if d := e.warmDict(ctx, gen); d != nil {
			e.ents.setDict(d)
		}
	}
	n := 0
	after := ""
	for {
		if ctx.Err() != nil || e.cs.gen.Load() != gen {
			return gen, false
		}
		if e.ents.full() {
			break
		}
		if e.passRunning() {
			// A pass (the first load, above all) would interrupt it with
			// its first write: the loop starts it again after the pass,
			// and the entries read so far are kept unless the pass wrote.
			return gen, false
		}
		step := time.Now()
		refs, err := e.cs.Driver.EntityRefsAll(ctx, after, warmBatch)
		if err != nil || len(refs) == 0 {
			if err != nil {
				return gen, false
			}
			break
		}
		after = refs[len(refs)-1]
		missing := refs[:0:0]
		for _, ref := range refs {
			if !e.ents.has(ref, gen) {
				missing = append(missing, ref)
			}
		}
		if len(missing) > 0 {
			got, err := e.cs.Driver.EntityGetByRefs(ctx, missing, nil)
			if err != nil {
				return gen, false
			}
			for _, s := range got {
				if s == nil {
					continue
				}
				b, err := StitchJSON(s)
				if err != nil {
					continue
				}
				e.ents.put(&Raw{Ref: s.Ref, UID: s.UID, JSON: b}, gen)
				n++
			}
		}
		select {
		case <-ctx.Done():
			return gen, false
		case <-time.After(time.Since(step)):
		}
	}
	entries, size := e.ents.stats()
	e.log.Info("entity cache warmed", "read", n, "entries", entries, "bytes", size,
		"seconds", time.Since(start).Seconds())
	return gen, true
}

// warmDict makes the cache's compression dictionary from a few entities
// of every kind, so that it holds what all of them share. It returns nil
// when the catalog is too small.
func (e *Engine) warmDict(ctx context.Context, gen uint64) *s2.Dict {
	counts, err := e.cs.Driver.EntityCount(ctx)
	if err != nil || len(counts) == 0 {
		return nil
	}
	kinds := make([]string, 0, len(counts))
	for k := range counts {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	per := max(dictSampleBytes/len(kinds)/1024, 2)
	var docs [][][]byte
	for _, k := range kinds {
		refs, err := e.cs.Driver.EntityRefsAll(ctx, k+":", per)
		if err != nil {
			return nil
		}
		got, err := e.cs.Driver.EntityGetByRefs(ctx, refs, nil)
		if err != nil {
			return nil
		}
		var mine [][]byte
		for _, s := range got {
			if s == nil {
				continue
			}
			if b, err := StitchJSON(s); err == nil {
				mine = append(mine, b)
			}
		}
		docs = append(docs, mine)
	}
	// Round robin over the kinds, so that each gets its share when the
	// sample is longer than a dictionary.
	var sample bytes.Buffer
	for i := 0; sample.Len() < dictSampleBytes; i++ {
		added := false
		for _, mine := range docs {
			if i < len(mine) {
				sample.Write(mine[i])
				added = true
			}
		}
		if !added {
			break
		}
	}
	if sample.Len() < 4096 || e.cs.gen.Load() != gen {
		return nil
	}
	b := sample.Bytes()
	if len(b) > dictSampleBytes {
		b = b[:dictSampleBytes]
	}
	return s2.MakeDict(b, nil)
}

// loading reports whether this engine processes locations (Run) and has
// not finished its first load: the warmer waits for its end, since between
// the first load's passes it would take a core from the writes (SQLite
// 100k: ingestion 1.5 s and 2 s of CPU slower). An engine that does not
// process (an API-only replica) is never loading.
func (e *Engine) loading() bool {
	select {
	case <-e.ready:
		return false
	default:
	}
	e.provMu.Lock()
	defer e.provMu.Unlock()
	return e.running
}

// passRunning reports whether a processing pass (or another writer that
// holds e.mu) is running.
func (e *Engine) passRunning() bool {
	if !e.mu.TryLock() {
		return true
	}
	e.mu.Unlock()
	return false
}
