package sqlplan

import (
	"context"
	"encoding/binary"
	"strconv"

	"github.com/atrium-portal/atrium/internal/catalog"
)

// maxPageSetBytes bounds the bitmap a page sends as a parameter (a million
// entity ids); past it the page probes its conditions row by row.
const maxPageSetBytes = 128 << 10

// filterSet is the ids of the entities matching a filter, evaluated from
// the store's cached leaf sets, and the states of the catalog it is exact
// for.
//
// A page of one kind by name whose other conditions are all under OR or
// NOT probes each row it walks for those conditions: for an owners-only
// policy at 100 000 entities, 58 rows and 115 index probes to fill 20
// (docs/benchmarks.md, "Authorization"). With the ids that match the
// whole filter at hand (the total is counted from them anyway) the walk
// tests a bit per row instead. The page's statement checks that the sets
// are exact for its own snapshot, and probes as before when they are not,
// so a write landing between the sets' sync and the page changes nothing
// in the answer.
type filterSet struct {
	s          idSet
	complement bool  // the matches are every entity outside s
	universe   idSet // every entity, when complement
	asOf       setsAsOf
	// deferred, when set, is the read that brings the sets up to date,
	// which runs with the page: s is then the ids as the cache held them
	// before it (see deferredRead).
	deferred *deferredRead
	// unknown says the deferred read could not bring the sets up to
	// date: they no longer say what matches.
	unknown bool
	// haveBits says bits is s's bitmap, and bitsFit that it fits (see
	// bitmap), from a page of the same filter over the same sets.
	haveBits, bitsFit bool
	bits              []byte
	// memo, when set, is the page memo entry s and bits came from, used
	// before; literal says the page's statement names its bitmap by
	// bitsToken (see pageMemoEntry.expand).
	memo    *pageMemoEntry
	literal bool
}

// loadPageSet returns the ids matching f for a page that tests them:
// deferred to the page's round trip when it can be, read now otherwise.
// total says the page also counts the matches (see deferredRead.pageOnly).
func loadPageSet(ctx context.Context, d Dialect, r TextRunner, f *catalog.Filter, total bool) (*filterSet, error) {
	if fs := deferFilterSet(d, r, f, total); fs != nil {
		return fs, nil
	}
	return loadFilterSet(ctx, d, r, f)
}

// loadFilterSet returns the ids matching f from r's SetCache, or nil when
// r keeps no cache, the cache cannot say for which states its sets are
// exact, or the sets are too large. On SQLite the sets are exact while the
// log's newest seq is asOf.frontier (see filterSet.sqliteCond).
func loadFilterSet(ctx context.Context, d Dialect, r TextRunner, f *catalog.Filter) (*filterSet, error) {
	cache := cacheOf(r)
	if cache == nil || f == nil {
		return nil, nil
	}
	all := complemented(f)
	sets, universe, asOf, fits, err := cache.loadAsOf(ctx, r, f, all)
	if err != nil || !fits || (!asOf.known && d != SQLite) {
		return nil, err
	}
	var shape string
	var hits []idSet
	memo := false
	if d == SQLite {
		if shape, hits, memo = memoKeyOf(f, sets); memo {
			if e := cache.pages.get(shape, hits); e != nil {
				return &filterSet{s: e.s, complement: e.complement, universe: universe, asOf: asOf}, nil
			}
		}
	}
	c := setCounter{d: d, r: r, sets: sets}
	s, complement, err := c.eval(ctx, f, 0)
	if err != nil || c.tooLarge {
		return nil, err
	}
	if memo {
		cache.pages.put(shape, &pageMemoEntry{sets: hits, s: s, complement: complement})
	}
	return &filterSet{s: s, complement: complement, universe: universe, asOf: asOf}, nil
}

// count is the number of entities matching the filter.
func (fs *filterSet) count() int {
	if fs.complement {
		return fs.universe.andNot(fs.s).count()
	}
	return fs.s.count()
}

// bitmap returns s as bytes in which entity id is bit id%8 of byte id/8,
// PostgreSQL's get_bit order, without trailing zero bytes (at least one
// byte); ok is false when it exceeds maxPageSetBytes.
func (fs *filterSet) bitmap() (out []byte, ok bool) {
	if fs.haveBits {
		return fs.bits, fs.bitsFit
	}
	n := len(fs.s)
	for n > 0 && fs.s[n-1] == 0 {
		n--
	}
	if 8*n > maxPageSetBytes {
		return nil, false
	}
	out = make([]byte, 8*n, max(8*n, 1))
	for i, w := range fs.s[:n] {
		binary.LittleEndian.PutUint64(out[8*i:], w)
	}
	for len(out) > 0 && out[len(out)-1] == 0 {
		out = out[:len(out)-1]
	}
	if len(out) == 0 {
		out = append(out, 0)
	}
	return out, true
}

// cond returns a condition over entity "e" equivalent to probes, the
// filter's SQL condition: a bit test of the set when, in the statement's
// snapshot, the log holds exactly the rows at or past the set's frontier
// that its sync saw and none of them was pruned, and probes otherwise. The
// check is a pair of uncorrelated sub-queries, which PostgreSQL evaluates
// once per statement. ok is false when the set is too large to send.
func (fs *filterSet) cond(b *Builder, probes string) (string, bool) {
	bits, ok := fs.bitmap()
	if !ok {
		return "", false
	}
	// The id is below the bitmap's bits (at most maxPageSetBytes*8) when
	// it is tested, so it fits the integer that get_bit takes everywhere
	// (bigint only since PostgreSQL 14).
	var test string
	if fs.memo != nil && fs.haveBits && sameBytes(fs.memo.bits, bits) && fs.memo.literal() {
		fs.literal = true
		test = "(CASE WHEN e.id < " + strconv.Itoa(8*len(bits)) + " THEN get_bit(" + bitsToken + "::bytea, e.id::int) = 1 ELSE false END)"
	} else {
		test = "(CASE WHEN e.id < " + b.Arg(int64(8*len(bits))) + " THEN get_bit(" + b.Arg(bits) + "::bytea, e.id::int) = 1 ELSE false END)"
	}
	if fs.complement {
		test = "NOT " + test
	}
	if fs.deferred != nil {
		return fs.deferred.cond(b, test, probes), true
	}
	frontier := "(SELECT " + b.Arg(strconv.FormatUint(fs.asOf.frontier, 10)) + "::text::xid8)"
	current := "(SELECT count(*) FROM entity_changes WHERE xid >= " + frontier + ") = " + b.Arg(int64(fs.asOf.seen)) +
		" AND (SELECT below FROM entity_changes_pruned) < " + frontier
	return "(CASE WHEN " + current + " THEN " + test + " ELSE " + probes + " END)", true
}
