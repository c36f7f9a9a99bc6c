package sqlplan

import (
	"strings"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
)

// MaxFilterDepth bounds the nesting of a filter; deeper trees are refused
// before any SQL is built.
const MaxFilterDepth = 64

// RelationPrefix starts the filter keys that match relation rows.
const RelationPrefix = "relations."

// Filter returns a boolean SQL expression for f over the entity aliased "e"
// (columns id and ref). A nil filter matches everything.
func (b *Builder) Filter(f *catalog.Filter) (string, error) {
	if f == nil {
		return "1=1", nil
	}
	b.inOrder = !positiveConjunction(f)
	b.kindColumn = b.d == Postgres && !b.inOrder && hasRelationIn(f)
	s, err := b.filter(f, 0, true)
	if err != nil {
		return "", err
	}
	if len(b.args) > MaxParams {
		return "", fault.New(fault.Invalid, "filter has too many values (over %d)", MaxParams)
	}
	return s, nil
}

// filter translates f; top says f is the root or under ANDs only, where a
// leaf the FROM clause enforces may be skipped.
func (b *Builder) filter(f *catalog.Filter, depth int, top bool) (string, error) {
	if f == nil {
		return "", fault.New(fault.Invalid, "filter has an empty node")
	}
	if depth > MaxFilterDepth {
		return "", fault.New(fault.Invalid, "filter is nested deeper than %d levels", MaxFilterDepth)
	}
	switch f.Op {
	case catalog.OpMatch:
		if top && f == b.skip {
			return "1=1", nil // the FROM clause starts from this leaf
		}
		// PostgreSQL plans a top-level EXISTS as a semi-join from the
		// most selective leaf; SQLite would run it after the rest (see
		// leaf).
		return b.leaf(f, b.inOrder && (b.d == SQLite || !top))
	case catalog.OpAll, catalog.OpAny:
		if len(f.Children) == 0 {
			if f.Op == catalog.OpAll {
				return "1=1", nil
			}
			return "1=0", nil
		}
		join := " AND "
		if f.Op == catalog.OpAny {
			join = " OR "
		}
		parts := make([]string, 0, len(f.Children))
		for _, c := range f.Children {
			s, err := b.filter(c, depth+1, top && f.Op == catalog.OpAll)
			if err != nil {
				return "", err
			}
			parts = append(parts, s)
		}
		if len(parts) == 1 {
			return parts[0], nil
		}
		return "(" + strings.Join(parts, join) + ")", nil
	case catalog.OpNot:
		if len(f.Children) != 1 {
			return "", fault.New(fault.Invalid, "filter: a not node needs exactly one child, got %d", len(f.Children))
		}
		s, err := b.filter(f.Children[0], depth+1, false)
		if err != nil {
			return "", err
		}
		return "NOT (" + s + ")", nil
	}
	return "", fault.New(fault.Invalid, "filter: unknown node type %d", f.Op)
}

// leaf translates a key matcher. Search keys match the search rows of the
// entity; relation keys match its outgoing relation rows by target ref.
//
// Every leaf is a correlated probe of the primary key (entity_id, key,
// value) or (source_ref, type, target): a page walks an index in order
// and stops after a page, so it probes few rows. An uncorrelated
// semi-join ("e.id IN (SELECT entity_id …)") would read the leaf's whole
// index range first: 8–12 ms for "not tagged payments" at 100k entities
// against 0.1 ms for the page (see docs/benchmarks.md, "Authorization").
// Totals, which visit every match, are counted with id sets instead (see
// countSets).
func (b *Builder) leaf(f *catalog.Filter, scalar bool) (string, error) {
	key := strings.ToLower(strings.TrimSpace(f.Key))
	if key == "" {
		return "", fault.New(fault.Invalid, "filter: a condition has an empty key")
	}
	if f.Match == catalog.MatchIn && len(f.Values) == 0 {
		return "1=0", nil // bind nothing: PostgreSQL refuses unused parameters
	}
	if key == "kind" && f.Match == catalog.MatchIn && (b.d == SQLite || b.kindColumn) {
		// The kind is a column of the row the query reads anyway: a probe
		// of the search table would read another page per candidate (a
		// third of the pages of a team's components at 100k entities).
		// Kinds are ASCII ([a-zA-Z0-9]), so lower() and NOCASE compare
		// exactly like the search row's lowercased value.
		//
		// On SQLite no index holds the bare column, so the planner's
		// choice of where to start is unchanged; counts (kindIndex) may
		// start from the kind index.
		//
		// PostgreSQL (kindColumn) also plans the column in less than half
		// the time of the semi-join: a team's components at 100k entities
		// cost the database 0.3 ms instead of 0.85 ms. Only beside a
		// relation leaf, which the plan starts from: where the kind is
		// the most selective leaf, the column makes a walk of the uid
		// index that tests it look cheaper than starting from the kind's
		// search rows, but uids follow the order of ingestion, which
		// groups kinds (kind=domain, first page by uid: 38-84 ms walking
		// against 2-6 ms from the search rows).
		if b.kindColumn || b.kindIndex {
			return b.In("lower(e.kind)", lowerAll(f.Values)), nil
		}
		return b.In("e.kind COLLATE NOCASE", lowerAll(f.Values)), nil
	}
	var from, col string
	if typ, ok := strings.CutPrefix(key, RelationPrefix); ok {
		if typ == "" {
			return "", fault.New(fault.Invalid, "filter: key %q names no relation type", f.Key)
		}
		from = "SELECT 1 FROM relations fr WHERE fr.source_ref = e.ref AND fr.type_lower = " + b.Arg(typ)
		col = "fr.target_ref"
	} else {
		from = "SELECT 1 FROM search fs WHERE fs.entity_id = e.id AND fs.key = " + b.Arg(key)
		col = "fs.value"
	}
	switch f.Match {
	case catalog.MatchExists:
	case catalog.MatchIn:
		from += " AND " + b.In(col, lowerAll(f.Values))
	case catalog.MatchPrefix:
		if len(f.Values) != 1 {
			return "", fault.New(fault.Invalid, "filter: prefix match on %q needs exactly one value, got %d", f.Key, len(f.Values))
		}
		from += " AND " + b.Prefix(col, strings.ToLower(f.Values[0]))
	default:
		return "", fault.New(fault.Invalid, "filter: unknown matcher %d on %q", f.Match, f.Key)
	}
	if scalar {
		// Under OR or NOT, a scalar sub-query is a probe per visited row,
		// checked where it stands. An EXISTS there is planned for every
		// row the query could visit, not for the page it stops after:
		// SQLite runs it as a join loop after every other condition of
		// the row (so "kind is component" no longer rules a row out
		// first), and PostgreSQL hashes the leaf's whole index range
		// (83 ms for "or lifecycle is production" at 100k entities,
		// against 10 ms probing).
		return "(" + from + " LIMIT 1) IS NOT NULL", nil
	}
	return "EXISTS (" + from + ")", nil
}

// hasRelationIn reports whether a leaf of f's top-level AND matches
// relations to given targets.
func hasRelationIn(f *catalog.Filter) bool {
	for _, leaf := range conjuncts(f, nil) {
		key := strings.ToLower(strings.TrimSpace(leaf.Key))
		if leaf.Match == catalog.MatchIn && len(leaf.Values) > 0 && strings.HasPrefix(key, RelationPrefix) {
			return true
		}
	}
	return false
}

// positiveConjunction reports whether f is leaves joined by AND only.
func positiveConjunction(f *catalog.Filter) bool {
	switch f.Op {
	case catalog.OpMatch:
		return true
	case catalog.OpAll:
		for _, c := range f.Children {
			if c == nil || !positiveConjunction(c) {
				return false
			}
		}
		return true
	}
	return false
}

// leafRows returns the entity column a leaf's rows name ("e.id" or
// "e.ref") and a query for those rows' ids or refs, as column k.
func (b *Builder) leafRows(f *catalog.Filter, key string) (col, rows string, err error) {
	var vcol string
	if typ, ok := strings.CutPrefix(key, RelationPrefix); ok {
		if typ == "" {
			return "", "", fault.New(fault.Invalid, "filter: key %q names no relation type", f.Key)
		}
		col, vcol = "e.ref", "target_ref"
		rows = "SELECT source_ref AS k FROM relations WHERE type_lower = " + b.Arg(typ)
	} else {
		col, vcol = "e.id", "value"
		rows = "SELECT entity_id AS k FROM search WHERE key = " + b.Arg(key)
	}
	m, err := b.match(f, vcol)
	if err != nil {
		return "", "", err
	}
	return col, rows + m, nil
}

// match returns the condition of a leaf's matcher on the value column
// vcol, as " AND …", or "" for an existence test.
func (b *Builder) match(f *catalog.Filter, vcol string) (string, error) {
	switch f.Match {
	case catalog.MatchExists:
		return "", nil
	case catalog.MatchIn:
		return " AND " + b.In(vcol, lowerAll(f.Values)), nil
	case catalog.MatchPrefix:
		if len(f.Values) != 1 {
			return "", fault.New(fault.Invalid, "filter: prefix match on %q needs exactly one value, got %d", f.Key, len(f.Values))
		}
		return " AND " + b.Prefix(vcol, strings.ToLower(f.Values[0])), nil
	}
	return "", fault.New(fault.Invalid, "filter: unknown matcher %d on %q", f.Match, f.Key)
}

func lowerAll(values []string) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = strings.ToLower(v)
	}
	return out
}
