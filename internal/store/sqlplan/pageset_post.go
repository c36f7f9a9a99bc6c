package sqlplan

import (
	"context"
	"math/bits"
	"strconv"
	"strings"
	"sync"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/store"
)

// maxPostWalk bounds the rows of its kind that a page filtered in Go walks
// (see postFilter); a filter that would need more probes in SQL.
const maxPostWalk = 1024

// postGate says when pages are filtered in Go: not while the sets are
// those of a position (frontier, seen) under which the log was found to
// have moved (until a read moves the cache on, each attempt would be a
// round trip for nothing), and, after postFailsMax attempts in a row found
// it moved (a write before every page), once in postRetryEvery pages only.
type postGate struct {
	mu       sync.Mutex
	moved    bool
	frontier uint64
	seen     int
	fails    int
	skipped  int
}

const (
	postFailsMax   = 3
	postRetryEvery = 16
)

// allow reports whether a page of sets exact as of asOf tries.
func (g *postGate) allow(asOf setsAsOf) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.moved && g.frontier == asOf.frontier && g.seen == asOf.seen {
		return false
	}
	if g.fails >= postFailsMax {
		g.skipped++
		return g.skipped%postRetryEvery == 0
	}
	return true
}

// done records an attempt's outcome: moved says the log had moved.
func (g *postGate) done(asOf setsAsOf, moved bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !moved {
		g.fails, g.skipped = 0, 0
		return
	}
	g.moved, g.frontier, g.seen = true, asOf.frontier, asOf.seen
	g.fails++
}

// postFilter returns a page of one kind by name (the segment of entities
// with a name, from pos in the direction forward, at most limit rows) by
// testing the kind's rows against the filter's ids in Go: ok is false when
// it cannot say, and the caller runs the page's statement in SQL.
//
// That statement tests each row it walks against a bitmap of the ids
// (filterSet.cond): at 100 000 entities an owners-only page binds a 12–31
// KB parameter, which pgx copies twice and the server parses, and a generic
// plan of eleven sub-plans that check, per statement, what the log says
// about the sets (docs/benchmarks.md, issue #5). When the sets are exact
// for the catalog as it was when the cache read them (no leaf lags the
// cache's position, fs.exact), the page instead walks the ids of the kind
// in order, enough of them for limit matches at the filter's density over
// the kind, in a statement that also checks the log still holds what that
// read saw, keeps the ids that match in Go, and reads those rows, in a
// statement that checks the log again. Between and within the two
// statements nothing can have changed: every write logs its entities past
// the cache's position, and the log's rows there are counted. When the log
// moved, or too few of the walked rows match, the caller's statement runs
// (see postGate for when pages try again after the former).
//
// The page's total is then the sets' count, with no read of the log.
func (l *lister) postFilter(ctx context.Context, pos *store.Position, forward bool, limit int) (items []*catalog.Stored, ok bool, err error) {
	fs := l.sets
	cache := cacheOf(l.r)
	gr, isGeneric := l.r.(GenericRunner)
	er, isEntities := l.r.(GenericEntitiesRunner)
	if fs == nil || !fs.exact || l.d != Postgres || limit <= 0 || cache == nil || !isGeneric || !isEntities {
		return nil, false, nil
	}
	if !cache.post.allow(fs.asOf) {
		return nil, false, nil
	}
	walk := l.postWalk(cache, limit)
	if walk == 0 {
		return nil, false, nil
	}
	dir, cmp := l.direction(forward)
	name := `(lower(e.name) COLLATE "C")`
	kind := strings.ToLower(strings.TrimSpace(l.kindLeaf.Values[0]))

	b := NewBuilder(l.d)
	current := fs.currentSQL(b)
	q := "SELECT e.id FROM entities e WHERE lower(e.kind) = " + b.Arg(kind)
	if pos != nil {
		q += " AND " + name + " " + cmp + "= " + b.Arg(*pos.Value) +
			" AND (" + name + " " + cmp + " " + b.Arg(*pos.Value) + " OR e.uid " + cmp + " " + b.Arg(pos.UID) + ")"
	}
	q += " ORDER BY " + name + " " + dir + ", e.uid " + dir + " LIMIT " + strconv.Itoa(walk)
	// An InitPlan runs when its value is first needed: the walk only when
	// the log says the sets hold.
	text, err := gr.TextGeneric(ctx, "SELECT CASE WHEN "+current+" THEN 'ok;' || array_to_string(ARRAY("+q+"), ',') ELSE 'moved' END", b.Args())
	if err != nil {
		return nil, false, err
	}
	rest, held := strings.CutPrefix(text, "ok;")
	if !held {
		cache.post.done(fs.asOf, true)
		return nil, false, nil
	}
	walked, err := parseIDList(rest)
	if err != nil {
		return nil, false, err
	}
	var ids []int64
	for _, id := range walked {
		if fs.has(id) {
			ids = append(ids, id)
			if len(ids) == limit {
				break
			}
		}
	}
	if len(ids) < limit && len(walked) == walk {
		return nil, false, nil // the kind has more rows: too few matched
	}
	if len(ids) == 0 {
		return nil, true, nil
	}
	b = NewBuilder(l.d)
	current = fs.currentSQL(b)
	q = "SELECT " + EntityColumns + ", " + name + l.rels + " FROM entities e WHERE e.id = ANY(" + b.Arg(ids) + "::bigint[]) AND " + current +
		" ORDER BY " + name + " " + dir + ", e.uid " + dir
	items, err = er.EntitiesGeneric(ctx, q, b.Args())
	if err != nil {
		return nil, false, err
	}
	if len(items) != len(ids) {
		cache.post.done(fs.asOf, true)
		return nil, false, nil
	}
	cache.post.done(fs.asOf, false)
	// The sets held for both statements: no read of the log is needed
	// for the total.
	fs.deferred, fs.unknown = nil, false
	return items, true, nil
}

// postWalk returns how many rows of the kind a page filtered in Go walks
// for limit matches: one and a half times what the filter's density over
// the kind says, and 16 more, in steps of 16 (each a statement of its own
// in the plan cache); 0 when that passes maxPostWalk or the kind's set is
// not cached.
func (l *lister) postWalk(cache *SetCache, limit int) int {
	key, err := leafKey(l.kindLeaf)
	if err != nil {
		return 0
	}
	cache.mu.Lock()
	k := cache.sets[key]
	cache.mu.Unlock()
	if k == nil {
		return 0
	}
	fs := l.sets
	all, in := 0, 0
	for i, w := range k.s {
		all += bits.OnesCount64(w)
		var m uint64
		if i < len(fs.s) {
			m = fs.s[i]
		}
		if fs.complement {
			m = ^m
		}
		in += bits.OnesCount64(w & m)
	}
	if in == 0 {
		return 0
	}
	walk := (3*limit*all)/(2*in) + 16
	walk = (walk + 15) / 16 * 16
	if walk > maxPostWalk {
		return 0
	}
	return walk
}

// has reports whether entity id matches the filter.
func (fs *filterSet) has(id int64) bool {
	if id < 0 {
		return false
	}
	w, bit := int(id/64), uint64(1)<<(id%64)
	in := w < len(fs.s) && fs.s[w]&bit != 0
	if fs.complement {
		return !in && w < len(fs.universe) && fs.universe[w]&bit != 0
	}
	return in
}

// currentSQL returns a condition true when the statement's snapshot holds
// the catalog the sets are exact for (see setsAsOf): uncorrelated
// sub-queries, evaluated once.
func (fs *filterSet) currentSQL(b *Builder) string {
	frontier := "(SELECT " + b.Arg(strconv.FormatUint(fs.asOf.frontier, 10)) + "::text::xid8)"
	return "((SELECT count(*) FROM entity_changes WHERE xid >= " + frontier + ") = " + b.Arg(int64(fs.asOf.seen)) +
		" AND (SELECT below FROM entity_changes_pruned) < " + frontier + ")"
}
