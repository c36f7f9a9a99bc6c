package sqlplan

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/atrium-portal/atrium/internal/catalog"
)

// IDSetFunction is the SQL function by which a SQLite page tests its
// filter's ids (see filterSet.sqliteCond): IDSetFunction(handle, id) is 1
// when id is in the set pinned under handle, 0 when it is not, and an
// error when no set is pinned under handle. The SQLite store registers it
// (EnableIDSetFunction) with its driver.
const IDSetFunction = "atrium_idset_has"

// idSetFunction says the SQLite driver has IDSetFunction.
var idSetFunction atomic.Bool

// EnableIDSetFunction tells the SQLite pages that the driver has
// IDSetFunction, registered before any connection was opened.
func EnableIDSetFunction() { idSetFunction.Store(true) }

// pinned holds the sets that running SQLite statements test, by handle.
// A set is pinned only while its statement runs: the registry holds as
// many sets as statements run at once, and no copy of them (the function
// reads the cache's own words, which are never written once stored).
var pinned struct {
	mu   sync.RWMutex
	next int64
	sets map[int64]idSet
}

// pinIDSet pins s for one statement; release unpins it.
func pinIDSet(s idSet) (handle int64, release func()) {
	pinned.mu.Lock()
	if pinned.sets == nil {
		pinned.sets = map[int64]idSet{}
	}
	pinned.next++
	handle = pinned.next
	pinned.sets[handle] = s
	pinned.mu.Unlock()
	return handle, func() {
		pinned.mu.Lock()
		delete(pinned.sets, handle)
		pinned.mu.Unlock()
	}
}

// IDSetHas is IDSetFunction's body: whether id is in the set pinned under
// handle. It fails when no set is pinned there, so that a statement never
// answers from a set that is gone.
func IDSetHas(handle, id int64) (bool, error) {
	pinned.mu.RLock()
	s, ok := pinned.sets[handle]
	pinned.mu.RUnlock()
	if !ok {
		return false, fmt.Errorf("%s: no id set is pinned under handle %d", IDSetFunction, handle)
	}
	if id < 0 || id/64 >= int64(len(s)) {
		return false, nil
	}
	return s[id/64]&(1<<(uint64(id)%64)) != 0, nil
}

// sqliteSets reports whether a SQLite walk of one kind by name tests its
// filter's ids instead of probing each row: its other conditions are all
// probes (onlyProbesBesides), there is no full-text term, and the driver
// has IDSetFunction; and they are two leaves or more. A call of the
// function per row costs about one probe (allocations of the driver's
// arguments): against one probe (a deny rule on a tag) the page lost,
// 0.53 -> 0.70 ms of CPU at 100k entities; against two (owners-only) it
// won, 1.18 -> 0.66 ms.
func (l *lister) sqliteSets() bool {
	return l.d == SQLite && idSetFunction.Load() && l.p.FullText == nil && onlyProbesBesides(l.p.Filter, l.kindLeaf) &&
		leavesBesides(l.p.Filter, l.kindLeaf) >= 2
}

// leavesBesides counts the leaves of f other than leaf.
func leavesBesides(f, leaf *catalog.Filter) int {
	if f == nil || f == leaf {
		return 0
	}
	if f.Op == catalog.OpMatch {
		return 1
	}
	n := 0
	for _, c := range f.Children {
		n += leavesBesides(c, leaf)
	}
	return n
}

// sqliteCond returns the head of a condition over entity "e" that is
// equivalent to the filter's probes: "CASE WHEN <the log's newest seq is
// the one the sets were read at> THEN <e.id is in the set> ELSE", to which
// the caller appends the probes and " END". Its arguments are bound now,
// before the probes' (SQLite's placeholders are positional). One writer
// numbers the log's rows in order and pruning keeps the newest, so an
// unchanged newest seq in the statement's snapshot means no write since
// the sets were read. release unpins the set once the statement ran.
func (fs *filterSet) sqliteCond(b *Builder) (head string, release func()) {
	head = "(CASE WHEN (SELECT coalesce(max(seq), 0) FROM entity_changes) = " + b.Arg(int64(fs.asOf.frontier)) + " THEN "
	handle, release := pinIDSet(fs.s)
	want := "1"
	if fs.complement {
		want = "0"
	}
	head += IDSetFunction + "(" + b.Arg(handle) + ", e.id) = " + want + " ELSE "
	return head, release
}

// memoKeyOf returns the page memo's key of f (its tree, leaves named by
// their cache keys) and the leaf sets it is evaluated from, in the tree's
// order; ok is false when a leaf has no set in sets. SQLite pages use it
// to evaluate a filter once per state of its leaves, as PostgreSQL's
// deferred pages do (see pageMemo).
func memoKeyOf(f *catalog.Filter, sets map[*catalog.Filter]idSet) (key string, hits []idSet, ok bool) {
	key, ok = shapeKey(f, func(f *catalog.Filter, _ string) bool {
		s, in := sets[f]
		if in {
			hits = append(hits, s)
		}
		return in
	})
	if !ok {
		return "", nil, false
	}
	return key, hits, true
}
