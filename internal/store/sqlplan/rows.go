package sqlplan

import (
	"cmp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/atrium-portal/atrium/internal/catalog"
)

// SearchRow is a search row ready to write: unique per (key, value) within
// its entity, with IsMin marking the row whose value the entity sorts by
// for that key (the smallest).
type SearchRow struct {
	Key   string
	Value string
	// Original is the value as written, or "" when it is Value itself (as
	// it is for most values, already lowercase): most rows then store the
	// value once, which makes the search table and its index smaller.
	// Readers take OriginalSQL.
	Original string
	IsMin    bool
}

// OriginalSQL is the SQL expression of a search row's original value, for
// a search table aliased s: the stored original, or the value when the
// original is stored empty (see SearchRow.Original). Rows written before
// originals were elided store both and read the same.
const OriginalSQL = "CASE WHEN s.original = '' THEN s.value ELSE s.original END"

// MaxIndexedBytes bounds the keys, values and originals the search index
// holds (PostgreSQL refuses B-tree entries over about 2.7 kB). Longer keys
// are not stored; longer values and originals are stored empty, so they
// are neither filterable nor shown as facets, as in Backstage.
const MaxIndexedBytes = 800

// MaxTextBytes bounds the full-text document of one entity; the rest is
// not indexed.
const MaxTextBytes = 256 << 10

// SearchRows sorts and deduplicates rows by (key, value), keeping the first
// original of each pair, and marks the smallest value of each key.
func SearchRows(rows []catalog.SearchRow) []SearchRow {
	out := make([]SearchRow, 0, len(rows))
	for _, r := range rows {
		if len(r.Key) > MaxIndexedBytes {
			continue
		}
		s := SearchRow{Key: valid(r.Key), Value: valid(r.Value), Original: valid(r.Original)}
		if len(s.Value) > MaxIndexedBytes || len(s.Original) > MaxIndexedBytes {
			s.Value, s.Original = "", ""
		}
		out = append(out, s)
	}
	slices.SortStableFunc(out, func(a, b SearchRow) int {
		return cmp.Or(strings.Compare(a.Key, b.Key), strings.Compare(a.Value, b.Value))
	})
	out = slices.CompactFunc(out, func(a, b SearchRow) bool { return a.Key == b.Key && a.Value == b.Value })
	for i := range out {
		out[i].IsMin = i == 0 || out[i-1].Key != out[i].Key
	}
	for i := range out {
		if out[i].Original == out[i].Value {
			out[i].Original = ""
		}
	}
	return out
}

// RelationRow is a relation row ready to write.
type RelationRow struct {
	Source    string
	Type      string
	TypeLower string
	Target    string
}

// RelationRows deduplicates rows and adds the lowercased type.
func RelationRows(rows []catalog.RelationRow) []RelationRow {
	out := make([]RelationRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, RelationRow{Source: r.Source, Type: r.Type, TypeLower: strings.ToLower(r.Type), Target: r.Target})
	}
	slices.SortFunc(out, func(a, b RelationRow) int {
		return cmp.Or(strings.Compare(a.Source, b.Source), strings.Compare(a.Type, b.Type), strings.Compare(a.Target, b.Target))
	})
	return slices.Compact(out)
}

// DedupeRecords keeps the last record of each ref, in the order refs first
// appear, so that one statement never writes a ref twice.
func DedupeRecords(recs []catalog.Record) []catalog.Record {
	idx := make(map[string]int, len(recs))
	out := make([]catalog.Record, 0, len(recs))
	for _, r := range recs {
		if i, ok := idx[r.Ref]; ok {
			out[i] = r
			continue
		}
		idx[r.Ref] = len(out)
		out = append(out, r)
	}
	return out
}

// Words splits a full-text query into lowercased words of letters and
// digits, the same units both engines' tokenizers index.
func Words(query string) []string {
	return strings.FieldsFunc(strings.ToLower(query), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// Chunks splits n items into consecutive [start, end) ranges of at most size.
func Chunks(n, size int) [][2]int {
	var out [][2]int
	for i := 0; i < n; i += size {
		out = append(out, [2]int{i, min(i+size, n)})
	}
	return out
}

// Text returns the full-text document cut to MaxTextBytes on a character
// boundary, with invalid UTF-8 replaced.
func Text(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= MaxTextBytes {
		return s
	}
	cut := MaxTextBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// valid replaces invalid UTF-8, which PostgreSQL refuses in text columns.
func valid(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }
