package authz

import (
	"strings"

	"github.com/atrium-portal/atrium/internal/catalog"
)

// FilterString writes a filter in a compact, readable form, for the
// permissions page, conditional answers and tests:
// `kind in (component) and not(metadata.tags in (secret))`.
func FilterString(f *catalog.Filter) string {
	if f == nil {
		return "true"
	}
	var b strings.Builder
	writeFilter(&b, f, false)
	return b.String()
}

func writeFilter(b *strings.Builder, f *catalog.Filter, nested bool) {
	switch f.Op {
	case catalog.OpAll, catalog.OpAny:
		if len(f.Children) == 0 {
			if f.Op == catalog.OpAll {
				b.WriteString("true")
			} else {
				b.WriteString("false")
			}
			return
		}
		sep := " and "
		if f.Op == catalog.OpAny {
			sep = " or "
		}
		if nested && len(f.Children) > 1 {
			b.WriteByte('(')
		}
		for i, c := range f.Children {
			if i > 0 {
				b.WriteString(sep)
			}
			writeFilter(b, c, true)
		}
		if nested && len(f.Children) > 1 {
			b.WriteByte(')')
		}
	case catalog.OpNot:
		b.WriteString("not(")
		if len(f.Children) == 1 {
			writeFilter(b, f.Children[0], false)
		}
		b.WriteByte(')')
	default:
		b.WriteString(f.Key)
		switch f.Match {
		case catalog.MatchExists:
			b.WriteString(" exists")
		case catalog.MatchPrefix:
			b.WriteString(" startsWith ")
			if len(f.Values) > 0 {
				b.WriteString(f.Values[0])
			}
		default:
			b.WriteString(" in (")
			b.WriteString(strings.Join(f.Values, ", "))
			b.WriteByte(')')
		}
	}
}
