package engine

import (
	"encoding/binary"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/store"
)

// countKey returns the answer cache's key for the total of a filter and
// full-text filter: a compact encoding in which every node and string is
// tagged and length-prefixed, so that two keys are equal only for equal
// filters. It replaces a JSON encoding of the whole filter on every page
// (an authorized page's filter holds the policy's conditions, and
// encoding/json reflected over them on every request).
func countKey(f *catalog.Filter, ft *store.FullText) string {
	b := make([]byte, 0, 128)
	b = append(b, "count\x00"...)
	b = appendFilterKey(b, f)
	if ft == nil {
		b = append(b, 'n')
	} else {
		b = append(b, 't')
		b = appendKeyString(b, ft.Term)
		b = binary.AppendUvarint(b, uint64(len(ft.Fields)))
		for _, s := range ft.Fields {
			b = appendKeyString(b, s)
		}
	}
	return string(b)
}

// appendFilterKey appends f's encoding: 'n' for nil, otherwise 'f', the
// node's op, match kind, key, values and children, each list prefixed with
// its length.
func appendFilterKey(b []byte, f *catalog.Filter) []byte {
	if f == nil {
		return append(b, 'n')
	}
	b = append(b, 'f')
	b = binary.AppendVarint(b, int64(f.Op))
	b = binary.AppendVarint(b, int64(f.Match))
	b = appendKeyString(b, f.Key)
	b = binary.AppendUvarint(b, uint64(len(f.Values)))
	for _, v := range f.Values {
		b = appendKeyString(b, v)
	}
	b = binary.AppendUvarint(b, uint64(len(f.Children)))
	for _, c := range f.Children {
		b = appendFilterKey(b, c)
	}
	return b
}

func appendKeyString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}
