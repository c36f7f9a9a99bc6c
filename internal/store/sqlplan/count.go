package sqlplan

import (
	"context"
	"math/bits"
	"strings"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
)

// TextRunner is a Runner that can also run a query returning one text
// value (NULL reads as ""). Counting with id sets needs it; runners without
// it count in SQL.
type TextRunner interface {
	Runner
	Text(ctx context.Context, query string, args []any) (string, error)
}

// maxSetID bounds the entity ids that counting with sets handles: a set is
// a bitmap of maxSetID/8 bytes at most. Larger ids count in SQL.
const maxSetID = 1 << 27

// maxSetBytes bounds the bitmaps one count reads (a filter has up to
// MaxFilterDepth levels of leaves); past it the count runs in SQL.
const maxSetBytes = 64 << 20

// countSets counts the entities matching f by set algebra over entity ids:
// each leaf reads its index range once, as one aggregated text value, and
// the AND, OR and NOT nodes become bitmap intersections, unions and
// differences in memory.
//
// Counting in SQL instead checks every candidate row against every other
// leaf: a correlated probe per row and leaf, which at 100 000 entities
// costs several times the count itself (see docs/benchmarks.md,
// "Authorization"). Reading a leaf's ids costs about what counting that
// leaf's rows costs, and the bitmaps cost microseconds. A store that keeps
// a SetCache reads, in one statement, only what changed since the sets
// were last read.
//
// ok is false when the sets would be too large (an id above maxSetID, or
// more than maxSetBytes of bitmaps); the caller then counts in SQL.
// Without a cache, like a page and its total, the leaves are read by
// separate statements: a write landing between them can skew the total by
// what it changed.
func countSets(ctx context.Context, d Dialect, r TextRunner, f *catalog.Filter) (n int, ok bool, err error) {
	c := setCounter{d: d, r: r}
	var universe idSet
	cache := cacheOf(r)
	if cache != nil {
		var fits bool
		c.sets, universe, fits, err = cache.load(ctx, r, f, complemented(f))
		if err != nil || !fits {
			return 0, false, err
		}
	}
	s, complement, err := c.eval(ctx, f, 0)
	if err != nil || c.tooLarge {
		return 0, false, err
	}
	if !complement {
		return s.count(), true, nil
	}
	// The matches are every entity outside s; s holds stored entities only.
	if cache != nil {
		return universe.andNot(s).count(), true, nil
	}
	total, err := r.Count(ctx, "SELECT count(*) FROM entities", nil)
	if err != nil {
		return 0, false, err
	}
	return max(total-s.count(), 0), true, nil
}

// cacheOf returns the store's cache of leaf id sets, or nil.
func cacheOf(r Runner) *SetCache {
	if cr, ok := r.(CachingRunner); ok {
		return cr.SetCache()
	}
	return nil
}

// complemented reports whether countSets' evaluation of f yields the ids
// not matching f (see setCounter.eval).
func complemented(f *catalog.Filter) bool {
	switch f.Op {
	case catalog.OpNot:
		return len(f.Children) == 1 && !complemented(f.Children[0])
	case catalog.OpAll:
		for _, k := range f.Children {
			if !complemented(k) {
				return false
			}
		}
		return true
	case catalog.OpAny:
		for _, k := range f.Children {
			if complemented(k) {
				return true
			}
		}
	}
	return false
}

// setsPay reports whether counting f by id sets beats SQL. On SQLite it
// does whenever no selective leaf drives the query (the caller checks
// that), and so it does on a store that caches sets, where a count reads
// only what changed. Without the cache PostgreSQL plans a filter with a
// selective positive leaf (fewer than driveCap rows) as semi-joins from
// it, which is cheaper than reading every leaf's index range, the largest
// included.
func setsPay(ctx context.Context, d Dialect, r Runner, f *catalog.Filter) (bool, error) {
	if d != Postgres || cacheOf(r) != nil {
		return true, nil
	}
	for _, leaf := range conjuncts(f, nil) {
		if leaf.Match != catalog.MatchIn || len(leaf.Values) == 0 || strings.TrimSpace(leaf.Key) == "" {
			continue
		}
		b := NewBuilder(d)
		n, err := r.Count(ctx, "SELECT count(*) FROM ("+driverRows(b, leaf)+" LIMIT "+itoa(driveCap)+") capped", b.Args())
		if err != nil {
			return false, err
		}
		if n < driveCap {
			return false, nil
		}
	}
	return true, nil
}

type setCounter struct {
	d Dialect
	r TextRunner
	// sets holds the leaves' sets read beforehand (from a SetCache); nil:
	// each leaf is read when evaluated.
	sets     map[*catalog.Filter]idSet
	tooLarge bool
	bytes    int // bitmap bytes read so far
}

// eval returns the ids matching f as s, or, when complement is true, the
// ids not matching f: a NOT is a flag rather than a difference from every
// entity, so that "A and not B" reads only A and B. s may be a leaf's set
// itself (a cached one, which nothing changes in place).
func (c *setCounter) eval(ctx context.Context, f *catalog.Filter, depth int) (s idSet, complement bool, err error) {
	s, complement, _, err = c.evalOwned(ctx, f, depth)
	return s, complement, err
}

// evalOwned is eval that also says whether s was made by this evaluation,
// so that combining it with another set may reuse its memory: at 100 000
// entities every set is a 12.5 KB bitmap, and an owners-only policy's
// filter made three of them per page (an AND, an OR, and a copy for an
// AND NOT of nothing).
func (c *setCounter) evalOwned(ctx context.Context, f *catalog.Filter, depth int) (s idSet, complement, owned bool, err error) {
	if f == nil {
		return nil, false, false, fault.New(fault.Invalid, "filter has an empty node")
	}
	if depth > MaxFilterDepth {
		return nil, false, false, fault.New(fault.Invalid, "filter is nested deeper than %d levels", MaxFilterDepth)
	}
	switch f.Op {
	case catalog.OpMatch:
		s, err := c.leaf(ctx, f)
		return s, false, c.sets == nil, err
	case catalog.OpNot:
		if len(f.Children) != 1 {
			return nil, false, false, fault.New(fault.Invalid, "filter: a not node needs exactly one child, got %d", len(f.Children))
		}
		s, complement, owned, err := c.evalOwned(ctx, f.Children[0], depth+1)
		return s, !complement, owned, err
	case catalog.OpAll, catalog.OpAny:
		// pos combines the children given as sets, neg those given as
		// complements; "all" intersects the sets and unites the
		// complements, "any" the other way round.
		var pos, neg idSet
		var hasPos, hasNeg, posOwned, negOwned bool
		for _, k := range f.Children {
			ks, kc, kOwned, err := c.evalOwned(ctx, k, depth+1)
			if err != nil {
				return nil, false, false, err
			}
			if c.tooLarge {
				return nil, false, false, nil
			}
			all := f.Op == catalog.OpAll
			switch {
			case !kc && !hasPos:
				pos, hasPos, posOwned = ks, true, kOwned
			case !kc && all:
				pos, posOwned = pos.andIn(posOwned, ks), true
			case !kc:
				pos, posOwned = pos.orIn(posOwned, ks, kOwned), true
			case !hasNeg:
				neg, hasNeg, negOwned = ks, true, kOwned
			case all:
				neg, negOwned = neg.orIn(negOwned, ks, kOwned), true
			default:
				neg, negOwned = neg.andIn(negOwned, ks), true
			}
		}
		if f.Op == catalog.OpAll {
			switch {
			case hasPos: // A and not B
				s, owned := pos.andNotIn(posOwned, neg)
				return s, false, owned, nil
			default: // not B and not C = not (B or C); an empty "all" is everything
				return neg, true, negOwned, nil
			}
		}
		switch {
		case hasNeg: // A or not B = not (B and not A)
			s, owned := neg.andNotIn(negOwned, pos)
			return s, true, owned, nil
		default: // an empty "any" is nothing
			return pos, false, posOwned, nil
		}
	}
	return nil, false, false, fault.New(fault.Invalid, "filter: unknown node type %d", f.Op)
}

// leaf reads the ids of the entities matching a key matcher.
func (c *setCounter) leaf(ctx context.Context, f *catalog.Filter) (idSet, error) {
	key := strings.ToLower(strings.TrimSpace(f.Key))
	if key == "" {
		return nil, fault.New(fault.Invalid, "filter: a condition has an empty key")
	}
	if f.Match == catalog.MatchIn && len(f.Values) == 0 {
		return nil, nil
	}
	if c.sets != nil {
		return c.sets[f], nil
	}
	b := NewBuilder(c.d)
	col, rows, err := b.leafRows(f, key)
	if err != nil {
		return nil, err
	}
	if len(b.args) > MaxParams {
		return nil, fault.New(fault.Invalid, "filter has too many values (over %d)", MaxParams)
	}
	agg := "group_concat(k)"
	if c.d == Postgres {
		agg = "string_agg(k::text, ',')"
	}
	var q string
	if col == "e.ref" {
		q = "SELECT " + agg + " FROM (SELECT e.id AS k FROM entities e WHERE e.ref IN (" + rows + ")) ids"
	} else {
		q = "SELECT " + agg + " FROM (" + rows + ") ids"
	}
	text, err := c.r.Text(ctx, q, b.Args())
	if err != nil {
		return nil, err
	}
	s, ok, err := parseIDs(text)
	c.bytes += 8 * len(s)
	if !ok || c.bytes > maxSetBytes {
		c.tooLarge = true
	}
	return s, err
}

// idSet is a bitmap of entity ids.
type idSet []uint64

func (s idSet) count() int {
	n := 0
	for _, w := range s {
		n += bits.OnesCount64(w)
	}
	return n
}

func (s idSet) and(o idSet) idSet {
	out := make(idSet, min(len(s), len(o)))
	for i := range out {
		out[i] = s[i] & o[i]
	}
	return out
}

func (s idSet) or(o idSet) idSet {
	if len(s) < len(o) {
		s, o = o, s
	}
	out := make(idSet, len(s))
	copy(out, s)
	for i, w := range o {
		out[i] |= w
	}
	return out
}

func (s idSet) andNot(o idSet) idSet {
	out := make(idSet, len(s))
	copy(out, s)
	for i := range min(len(s), len(o)) {
		out[i] &^= o[i]
	}
	return out
}

// andIn returns s & o, in s's memory when owned.
func (s idSet) andIn(owned bool, o idSet) idSet {
	if !owned {
		return s.and(o)
	}
	s = s[:min(len(s), len(o))]
	for i := range s {
		s[i] &= o[i]
	}
	return s
}

// orIn returns s | o, in the memory of s or o when that one is owned and
// long enough.
func (s idSet) orIn(owned bool, o idSet, oOwned bool) idSet {
	if len(s) < len(o) {
		s, o, owned = o, s, oOwned
	}
	if !owned {
		return s.or(o)
	}
	for i, w := range o {
		s[i] |= w
	}
	return s
}

// andNotIn returns s &^ o, in s's memory when owned, and s itself when o
// is empty; owned says whether the result is s's memory or new.
func (s idSet) andNotIn(owned bool, o idSet) (idSet, bool) {
	if o.count() == 0 {
		return s, owned
	}
	if !owned {
		return s.andNot(o), true
	}
	for i := range min(len(s), len(o)) {
		s[i] &^= o[i]
	}
	return s, true
}

// parseIDs reads comma-separated decimal ids into a set; ok is false when
// an id is above maxSetID.
func parseIDs(text string) (s idSet, ok bool, err error) {
	id, digits := 0, 0
	add := func() bool {
		if digits == 0 {
			return true
		}
		if id > maxSetID {
			return false
		}
		w := id / 64
		if w >= len(s) {
			grown := make(idSet, max(w+1, 2*len(s)))
			copy(grown, s)
			s = grown
		}
		s[w] |= 1 << (id % 64)
		id, digits = 0, 0
		return true
	}
	for i := 0; i < len(text); i++ {
		ch := text[i]
		switch {
		case ch >= '0' && ch <= '9':
			id = id*10 + int(ch-'0')
			digits++
			if id > maxSetID {
				return nil, false, nil
			}
		case ch == ',':
			if !add() {
				return nil, false, nil
			}
		default:
			return nil, false, fault.New(fault.Internal, "counting: unexpected %q in an id list", ch)
		}
	}
	if !add() {
		return nil, false, nil
	}
	return s, true, nil
}
