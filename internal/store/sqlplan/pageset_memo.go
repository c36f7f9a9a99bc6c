package sqlplan

import (
	"encoding/hex"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/atrium-portal/atrium/internal/catalog"
)

// maxPageMemo bounds the filters whose page sets a cache remembers; past
// it the memo starts over.
const maxPageMemo = 16

// pageMemo remembers, per filter, the ids a page tested and their bitmap,
// as evaluated over given cached leaf sets. Pages of the same filter repeat
// the evaluation until a write changes a leaf: at 100k entities an
// owners-only page made a 12.5 KB set and a 12–31 KB bitmap each time,
// ~40 µs of Atrium's CPU and most of what it allocated per page.
//
// An entry holds the leaf sets it was evaluated from and matches only those
// same sets (the same memory: cached sets never change in place), so no
// other set can reuse their memory while it can match.
type pageMemo struct {
	mu      sync.Mutex
	entries map[string]*pageMemoEntry
}

type pageMemoEntry struct {
	sets       []idSet
	s          idSet
	complement bool
	bits       []byte
	bitsFit    bool

	// hits counts the pages that found the entry; from the
	// literalAfter-th on they name its bitmap as a literal (see expand).
	hits atomic.Int64
	// mu guards lit and queries (see expand).
	mu      sync.Mutex
	lit     string
	queries map[string]string
}

// bitsToken stands for an entry's bitmap in a page's statement until
// expand replaces it.
const bitsToken = "/*atrium:bits*/"

// LiteralMark starts a statement that expand made: its runner may keep
// it prepared apart from other statements (see postgres, sendPage).
const LiteralMark = "/*atrium:literal*/ "

// literalAfter is how many pages an entry serves with its bitmap as a
// parameter before pages name it as a literal: each literal is a statement
// prepared on every connection that runs it, which an entry replaced
// after a page or two (writes changing its leaves) would not pay back.
const literalAfter = 2

// literal reports whether a page that found the entry names its bitmap
// as a literal.
func (e *pageMemoEntry) literal() bool {
	return e.bitsFit && e.hits.Add(1) > literalAfter
}

// maxLiteralQueries bounds the statements an entry remembers expanded.
const maxLiteralQueries = 8

// expand returns query with the entry's bitmap, as a bytea literal, in
// place of bitsToken: the statement that pgx prepares once per
// connection and then binds without the 12-31 KB parameter that it
// otherwise copies twice per page.
func (e *pageMemoEntry) expand(query string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if q, ok := e.queries[query]; ok {
		return q
	}
	if e.lit == "" {
		e.lit = "'\\x" + hex.EncodeToString(e.bits) + "'"
	}
	q := LiteralMark + strings.Replace(query, bitsToken, e.lit, 1)
	if e.queries == nil {
		e.queries = map[string]string{}
	}
	if len(e.queries) < maxLiteralQueries {
		e.queries[query] = q
	}
	return q
}

// sameBytes reports whether a and b are the same slice in memory.
func sameBytes(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// get returns the entry of shape evaluated over sets, or nil.
func (m *pageMemo) get(shape string, sets []idSet) *pageMemoEntry {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.entries[shape]
	if e == nil || len(e.sets) != len(sets) {
		return nil
	}
	for i := range sets {
		if !sameSet(e.sets[i], sets[i]) {
			return nil
		}
	}
	return e
}

// put remembers e for shape, replacing what the shape had.
func (m *pageMemo) put(shape string, e *pageMemoEntry) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.entries == nil || (len(m.entries) >= maxPageMemo && m.entries[shape] == nil) {
		m.entries = map[string]*pageMemoEntry{}
	}
	m.entries[shape] = e
}

// filterShape returns a key for f's tree whose leaves are named by their
// cache keys; ok is false when a leaf has no set in seen (its evaluation
// may read the store).
func filterShape(f *catalog.Filter, seen map[string]*cacheLeaf) (key string, ok bool) {
	return shapeKey(f, func(_ *catalog.Filter, k string) bool { return seen[k] != nil })
}

// shapeKey returns a key for f's tree: its operators and, for each leaf,
// the leaf's cache key. leaf is called for every leaf in order; ok is false
// when it refuses one, or a leaf has no cache key.
func shapeKey(f *catalog.Filter, leaf func(f *catalog.Filter, key string) bool) (key string, ok bool) {
	var sb strings.Builder
	var walk func(f *catalog.Filter) bool
	walk = func(f *catalog.Filter) bool {
		if f == nil {
			return false
		}
		if f.Op == catalog.OpMatch {
			k, err := leafKey(f)
			if err != nil || !leaf(f, k) {
				return false
			}
			sb.WriteString(strconv.Itoa(len(k)))
			sb.WriteByte(':')
			sb.WriteString(k)
			return true
		}
		sb.WriteString(strconv.Itoa(int(f.Op)))
		sb.WriteByte('(')
		for _, c := range f.Children {
			if !walk(c) {
				return false
			}
		}
		sb.WriteByte(')')
		return true
	}
	if !walk(f) {
		return "", false
	}
	return sb.String(), true
}
