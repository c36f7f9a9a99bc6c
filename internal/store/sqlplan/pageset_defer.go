package sqlplan

import (
	"context"
	"strconv"
	"strings"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
)

// PageBatchRunner is a GenericEntitiesRunner that can also run a text
// query, after the entity query, in the same round trip (see
// deferredRead).
type PageBatchRunner interface {
	GenericEntitiesRunner
	EntitiesGenericThenText(ctx context.Context, query string, args []any, textQuery string, textArgs []any) ([]*catalog.Stored, string, error)
}

// maxDirty bounds the entities changed since the cache's sets that a page
// tests against them: past it the page probes every row (a page after a
// large import), and the cache reads the sets again anyway.
const maxDirty = 1000

// maxCrossPairs bounds the relation pairs whose source is not their
// originating entity that a deferred page sends (see deferredRead.cond).
const maxCrossPairs = 4096

// deferredRead is the read that brings a page's cached sets up to date,
// run in the same round trip as the page instead of before it.
//
// After a write, an owners-only page used to sync and patch its three
// cached sets first (a round trip) and only then send its statement,
// which tested the patched bitmap. Instead the page tests the bitmap the
// cache held before the write, for every entity the write cannot have
// affected, and probes the others (see cond); the sync and patch follow
// it in the same batch, and the total is counted from what they return.
type deferredRead struct {
	r     PageBatchRunner
	tr    TextRunner
	rd    *oneRead
	query string // rd's statement
	args  []any
	f     *catalog.Filter
	seen  map[string]*cacheLeaf
	all   bool
	ran   bool // query ran with the page; text is its answer
	text  string
	dirty dirtyBase
	// pageOnly says the page counts no total (the engine holds it): the
	// page's condition is exact without the read, which then runs only
	// if something asks for the total. Batched with every page it cost
	// a second statement per page in the steady state (PostgreSQL 0.17
	// ms to bind and 0.04 ms to run for owners-only at 100k entities,
	// docs/benchmarks.md, "Authorization in the steady state"). The
	// cache moves on with the next count; until then the page probes
	// the entities changed since, and every row once the log holds more
	// than maxDirty of them.
	pageOnly bool
	// light says the page counts a total but the cache expects the log
	// quiet (SetCache.quietHint: its last sync found no change and this
	// process wrote nothing since) and no leaf has changes pending. The
	// page then takes quietCond, and the read that runs with it is the
	// log's sync alone (syncSQL), without the leaves' patches: when it
	// finds nothing changed the cached sets are current as they are;
	// otherwise the whole read follows in a second round trip. The page
	// is exact either way (quietCond probes when the log moved); what the
	// hint saves, when right, is the changed-ids list's dozen sub-plans
	// in the page and the patches' in the read, all set up at every bind
	// (docs/benchmarks.md, tenth session).
	light bool
	asOf  setsAsOf // after a light read found the log quiet
}

// dirtyBase is what the cache's sets may be stale for: changes logged at
// or past frontier, the changed ids earlier syncs logged that some leaf
// has not applied yet (pending), and, for relation leaves of types, the
// sources of relation rows those entities originate, now or (cross) in
// the cached sets.
type dirtyBase struct {
	frontier uint64
	pending  []int64
	types    []string
	cross    [][2]int64
}

// deferFilterSet returns, when the cache of r holds every leaf of f and r
// can batch, the ids matching f as the cache holds them, with the read
// that brings them up to date deferred to the page's round trip, or, when
// the page counts no total, to the first call that needs them.
func deferFilterSet(d Dialect, r TextRunner, f *catalog.Filter, total bool) *filterSet {
	br, ok := r.(PageBatchRunner)
	cache := cacheOf(r)
	if !ok || cache == nil || f == nil || d != Postgres {
		return nil
	}
	all := complemented(f)
	leaves, seen, err := leavesOf(f, all)
	if err != nil {
		return nil // loadFilterSet reports it
	}
	synced, frontier, epoch := cache.hits(leaves)
	if !synced {
		return nil
	}
	dirty := dirtyBase{frontier: frontier, pending: []int64{}}
	for _, l := range leaves {
		if l.hit == nil {
			return nil
		}
		dirty.pending = append(dirty.pending, l.pending...)
		if l.rel {
			dirty.types = append(dirty.types, strings.TrimPrefix(l.name, RelationPrefix))
			for _, p := range l.hit.pairs {
				if p[0] != p[1] {
					dirty.cross = append(dirty.cross, p)
				}
			}
		}
	}
	if len(dirty.pending) > maxDirty || len(dirty.cross) > maxCrossPairs {
		return nil
	}
	sets, universe := setsOf(f, seen, all, func(l *cacheLeaf) idSet { return l.hit.s })
	fs := &filterSet{universe: universe}
	shape, memo := filterShape(f, seen)
	hits := make([]idSet, len(leaves))
	for i, l := range leaves {
		hits[i] = l.hit.s
	}
	if e := cache.pages.get(shape, hits); memo && e != nil {
		fs.s, fs.complement = e.s, e.complement
		fs.bits, fs.bitsFit, fs.haveBits = e.bits, e.bitsFit, true
		fs.memo = e
	} else {
		c := setCounter{d: d, r: r, sets: sets}
		s, complement, err := c.eval(context.Background(), f, 0)
		if err != nil || c.tooLarge {
			return nil
		}
		fs.s, fs.complement = s, complement
		if memo {
			bits, fit := fs.bitmap()
			fs.bits, fs.bitsFit, fs.haveBits = bits, fit, true
			cache.pages.put(shape, &pageMemoEntry{sets: hits, s: s, complement: complement, bits: bits, bitsFit: fit})
		}
	}
	rd := &oneRead{c: cache, leaves: leaves, frontier: frontier, epoch: epoch}
	fs.deferred = &deferredRead{r: br, tr: r, rd: rd, f: f, seen: seen, all: all, dirty: dirty, pageOnly: !total}
	if total && len(dirty.pending) == 0 && cache.quietHint() {
		fs.deferred.light = true
		b := NewBuilder(d)
		parts := cache.syncSQL(b, frontier)
		fs.deferred.query, fs.deferred.args = cache.withFrontier("SELECT "+strings.Join(parts, " || ';' || ")), b.Args()
	} else if total {
		// A page without a total builds the read only if something
		// asks for it (see settle).
		if err := fs.deferred.build(); err != nil {
			return nil
		}
	}
	return fs
}

// build makes the read's statement. It probes the cached leaves for the
// changed ids (a generic plan), which it can since every leaf is cached
// and at most maxDirty < maxPending changes are pending.
func (d *deferredRead) build() error {
	q, args, generic, err := d.rd.statement()
	if err != nil {
		return err
	}
	if !generic {
		return fault.New(fault.Internal, "list: the deferred read of cached sets reads a leaf whole")
	}
	d.query, d.args = q, args
	return nil
}

// cond returns the page's condition when the sets are deferred: the bit
// test of the cached sets (test) for the entities that no change since
// can have affected, probes for the others and for every row when the log
// cannot say what changed.
//
// A leaf's membership of an entity changes only with a write of that
// entity's row or, for a relation leaf, of a row of the entity that
// originates one of its relation rows, and every such write is logged.
// The changed ids are those logged at or past the cache's frontier in the
// statement's own snapshot, and those earlier syncs logged that a leaf
// has not applied yet; to them are added the sources of the relation rows
// of the leaves' types that changed entities originate now (read in the
// statement) or did when the sets were read (the cached pairs whose
// source is not their origin). The list is an uncorrelated ARRAY, which
// PostgreSQL computes once, and only when the log can say.
func (d *deferredRead) cond(b *Builder, test, probes string) string {
	x := d.dirty
	frontier := "(SELECT " + b.Arg(strconv.FormatUint(x.frontier, 10)) + "::text::xid8)"
	if (d.pageOnly || d.light) && len(x.pending) == 0 {
		return quietCond(frontier, test, probes)
	}
	logged := "entity_changes WHERE xid >= " + frontier
	ok := "(SELECT below FROM entity_changes_pruned) < " + frontier +
		" AND (SELECT coalesce(bool_and(entity_id >= 0), true) AND count(*) <= " + itoa(maxDirty) +
		" FROM (SELECT entity_id FROM " + logged + " LIMIT " + itoa(maxDirty+1) + ") n)"
	// An unnested array, which the planner expects to be short (see
	// oneRead): the log's range would be estimated at a third of it. A
	// CTE of the list's own sub-query, it is read once however many parts
	// of the list start from it.
	dirty := "WITH c AS (SELECT unnest(ARRAY(SELECT entity_id FROM " + logged + ") || " + b.Arg(x.pending) + "::bigint[]) AS id)" +
		" SELECT id FROM c"
	if len(x.types) > 0 {
		dirty += " UNION ALL SELECT s.id FROM c" +
			" CROSS JOIN LATERAL (SELECT ref FROM entities WHERE id = c.id OFFSET 0) o" +
			" CROSS JOIN LATERAL (SELECT r.source_ref FROM relations r WHERE r.originating_ref = o.ref AND r.type_lower = ANY(" +
			b.Arg(x.types) + "::text[]) OFFSET 0) r" +
			" CROSS JOIN LATERAL (SELECT id FROM entities WHERE ref = r.source_ref OFFSET 0) s"
	}
	if len(x.cross) > 0 {
		origins := make([]int64, len(x.cross))
		sources := make([]int64, len(x.cross))
		for i, p := range x.cross {
			origins[i], sources[i] = p[0], p[1]
		}
		dirty += " UNION ALL SELECT p.s FROM unnest(" + b.Arg(origins) + "::bigint[], " + b.Arg(sources) +
			"::bigint[]) p(o, s) WHERE p.o IN (SELECT id FROM c)"
	}
	// The probes appear once: every sub-plan of the statement is set up
	// when it is bound, executed or not. CASE keeps the order: the list is
	// not computed when the log cannot say.
	clean := "(CASE WHEN " + ok + " THEN e.id <> ALL(ARRAY(" + dirty + ")) ELSE false END)"
	return "(CASE WHEN " + clean + " THEN " + test + " ELSE " + probes + " END)"
}

// quietCond returns the condition of a page without a total whose sets
// no sync left pending: the bit test when, in the statement's snapshot,
// the log holds no row at or past the sets' frontier and was not pruned
// there, and probes otherwise. The list of changed ids in cond is then
// empty, so the answer is the same; but that list's dozen sub-plans were
// set up when every page was bound, run or not, which was most of an
// owners-only page's extra server CPU in the steady state
// (docs/benchmarks.md, ninth session): pages without a total are the
// pages between writes. After a write the engine counts the total again
// with the next page, which takes the list (pages of another replica's
// writes not yet seen here probe every row until then). The newest xid
// is read by the index from its end: a generic plan guesses a third of
// the log for any range of it, and checked "some row at or past" by
// scanning it.
func quietCond(frontier, test, probes string) string {
	quiet := "(SELECT coalesce(max(xid), '0') FROM entity_changes) < " + frontier +
		" AND (SELECT below FROM entity_changes_pruned) < " + frontier
	return "(CASE WHEN " + quiet + " THEN " + test + " ELSE " + probes + " END)"
}

// entities runs the page's statement, with the deferred read after it in
// the same round trip unless the page counts no total.
func (fs *filterSet) entities(ctx context.Context, r GenericEntitiesRunner, query string, args []any) ([]*catalog.Stored, error) {
	if fs.literal {
		query = fs.memo.expand(query)
	}
	d := fs.deferred
	if d == nil || d.ran || d.pageOnly {
		return r.EntitiesGeneric(ctx, query, args)
	}
	items, text, err := d.r.EntitiesGenericThenText(ctx, query, args, d.query, d.args)
	if err != nil {
		return nil, err
	}
	d.ran, d.text = true, text
	// Applied now, so that the cache moves on even when the total needs
	// no count (the page holds every match).
	if _, err := fs.settle(ctx); err != nil {
		return nil, err
	}
	return items, nil
}

// settle applies the deferred read (running it when the page did not) and
// makes fs the ids matching the filter now; ok is false when the sets
// cannot say (they grew too large), and the caller counts otherwise.
func (fs *filterSet) settle(ctx context.Context) (ok bool, err error) {
	d := fs.deferred
	if d == nil {
		return !fs.unknown, nil
	}
	fs.deferred, fs.unknown = nil, true
	text := d.text
	if d.light {
		if d.ran {
			if current, err := d.quiet(text); err != nil || current {
				fs.asOf, fs.unknown = d.asOf, err != nil
				return err == nil, err
			}
		}
		// The log moved (or the page did not run): the whole read, in a
		// round trip of its own.
		d.ran, d.query, d.args = false, "", nil
	}
	if !d.ran {
		if d.query == "" {
			if err := d.build(); err != nil {
				return false, err
			}
		}
		if text, err = textGeneric(ctx, d.tr, d.query, d.args); err != nil {
			return false, err
		}
	}
	asOf, ok, retry, err := d.rd.finish(text)
	if err != nil {
		return false, err
	}
	if ok && !retry && unchanged(d.rd.leaves) {
		// The write changed none of the filter's leaves (a tag the
		// policy does not look at): the ids the page tested still hold.
		fs.asOf, fs.unknown = asOf, false
		return true, nil
	}
	if ok && !retry {
		sets, universe := setsOf(d.f, d.seen, d.all, func(l *cacheLeaf) idSet { return l.out.s })
		c := setCounter{d: Postgres, r: d.tr, sets: sets}
		s, complement, err := c.eval(ctx, d.f, 0)
		if err != nil || c.tooLarge {
			return false, err
		}
		fs.s, fs.complement, fs.universe, fs.asOf, fs.unknown = s, complement, universe, asOf, false
		fs.haveBits, fs.bits = false, nil
		return true, nil
	}
	if !ok {
		return false, nil
	}
	// The log could not say what changed: the cache was reset.
	fresh, err := loadFilterSet(ctx, Postgres, d.tr, d.f)
	if err != nil || fresh == nil {
		return false, err
	}
	*fs = *fresh
	return true, nil
}

// quiet applies the answer of a light read (see deferredRead.light):
// current is true when the log said nothing changed past the cache's
// frontier, and the cache then moved on with its sets as they were.
func (d *deferredRead) quiet(text string) (current bool, err error) {
	rd := d.rd
	next, changed, seen, lost, err := rd.c.parseSync(rd.frontier, 4, text)
	if err != nil || lost || len(changed) > 0 {
		return false, err
	}
	for _, l := range rd.leaves {
		l.out = l.hit
	}
	rd.c.store(rd.leaves, true, rd.frontier, rd.epoch, next, nil)
	d.asOf = setsAsOf{known: true, frontier: next, seen: seen}
	return true, nil
}

// total counts the entities matching the filter; ok is false when the
// sets cannot say.
func (fs *filterSet) total(ctx context.Context) (n int, ok bool, err error) {
	if ok, err := fs.settle(ctx); err != nil || !ok {
		return 0, false, err
	}
	return fs.count(), true, nil
}

// unchanged reports whether the read left every leaf's set as cached:
// a patch that changes nothing keeps the cached bitmap itself.
func unchanged(leaves []*cacheLeaf) bool {
	for _, l := range leaves {
		if l.hit == nil || l.out == nil || !sameSet(l.hit.s, l.out.s) {
			return false
		}
	}
	return true
}

// sameSet reports whether a and b are the same bitmap in memory.
func sameSet(a, b idSet) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}
