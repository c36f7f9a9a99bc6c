package app

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
	"time"
)

// applyMemoryLimit sets the Go runtime's soft memory limit to
// atrium.memory.limit, unless GOMEMLIMIT is set in the environment (the
// operator's setting wins) or the limit is 0. With the default GOGC the
// heap grows to twice its live size between collections and idle pages
// go back to the operating system lazily; under the limit the collector
// runs sooner and the scavenger returns freed pages, so the resident size
// stays near the budget.
//
// A fixed limit close to the live heap makes the collector run nearly
// continuously (at 250k entities a 128 MiB limit cost a quarter more
// ingestion CPU and eight times the CPU per facets request). So once a
// second the limit is raised to what the live heap needs
// (effectiveMemoryLimit) and lowered back when it shrinks: a large
// catalog gets headroom in proportion, a small one stays within the
// budget. Close stops that and puts back the limit it replaced.
func (a *App) applyMemoryLimit() {
	limit := a.cfg.Atrium.Memory.Limit
	if limit <= 0 {
		return
	}
	if v, ok := os.LookupEnv("GOMEMLIMIT"); ok && v != "" {
		a.log.Info("memory limit from GOMEMLIMIT", "GOMEMLIMIT", v, "ignored", "atrium.memory.limit")
		return
	}
	var set atomic.Int64
	set.Store(limit)
	prev := debug.SetMemoryLimit(limit)
	a.log.Info("memory limit", "bytes", limit)
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			metrics.Read(sample)
			if sample[0].Value.Kind() != metrics.KindUint64 {
				return
			}
			var stable int64
			var first bool
			if e := a.memEngine.Load(); e != nil {
				st := e.Stats()
				stable, first = st.EntityCacheBytes, st.FirstLoad
			}
			want := effectiveMemoryLimit(limit, int64(sample[0].Value.Uint64()), stable, first)
			if cur := set.Load(); want != cur && debug.SetMemoryLimit(-1) == cur {
				debug.SetMemoryLimit(want)
				set.Store(want)
			}
		}
	}()
	a.cleanup = append(a.cleanup, func() error {
		close(stop)
		<-done
		// Another App in the same process (tests) may have set its own
		// since: leave that one.
		if debug.SetMemoryLimit(-1) == set.Load() {
			debug.SetMemoryLimit(prev)
		}
		return nil
	})
}

// effectiveMemoryLimit is the soft memory limit for a live heap of live
// bytes under a budget of limit: the budget, or, when the live heap
// needs more, half the live heap again as headroom for the collector
// plus 16 MiB for stacks and the runtime's own structures (in 1 MiB
// steps, so that small changes of the live heap leave it alone). The
// stable bytes of the live heap (the entity cache's chunks, written once
// per fill and then only read) make no garbage and get no headroom: at
// 100k entities they are 40 MiB, whose 20 MiB of headroom would push the
// resident size of a SQLite server past 300 MB.
//
// During a first load (firstLoad) the headroom is the whole live heap, as
// the collector's own pacing (GOGC=100) would give it: the load allocates
// at its fastest then, and at 250k entities (live heap ~90 MiB) half of it
// made the collector run a third more often. At 100k entities the live
// heap of a first load is at most ~57 MiB, so the limit stays within a
// few MiB of the budget and the resident size does not move.
func effectiveMemoryLimit(limit, live, stable int64, firstLoad bool) int64 {
	headroom := max(live-stable, 0) / 2
	if firstLoad {
		headroom = max(live-stable, 0)
	}
	need := live + headroom + 16<<20
	need = (need + 1<<20 - 1) &^ (1<<20 - 1)
	return max(limit, need)
}
