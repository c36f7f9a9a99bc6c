package sqlplan

import (
	"context"
	"strings"

	"github.com/atrium-portal/atrium/internal/catalog"
)

// FacetQueries returns FacetQuery for each facet, starting from the
// filter's selective leaf when it has one (see chooseDriver): counting the
// facets of a few entities then reads their search rows instead of every
// row of the key checked against the filter (seconds at 100k entities for
// a team's components).
func FacetQueries(ctx context.Context, d Dialect, r Runner, facets []string, filter *catalog.Filter) ([]Query, error) {
	if kinds := kindsOnly(d, filter); kinds != nil {
		out := make([]Query, len(facets))
		var kindSet *filterSet
		loaded := false
		for i, f := range facets {
			if d == Postgres && !strings.HasPrefix(strings.ToLower(strings.TrimSpace(f)), RelationPrefix) {
				if tr, ok := r.(TextRunner); ok && !loaded {
					loaded = true
					var err error
					if kindSet, err = loadFilterSet(ctx, d, tr, filter); err != nil {
						return nil, err
					}
				}
				if kindSet != nil && !kindSet.complement {
					if q, args, ok := kindSetFacetQuery(d, f, kinds, kindSet); ok {
						out[i] = Query{SQL: q, Args: args}
						continue
					}
				}
			}
			q, args := kindFacetQuery(d, f, kinds)
			out[i] = Query{SQL: q, Args: args}
		}
		return out, nil
	}
	dr, err := chooseDriver(ctx, d, r, filter)
	if err != nil {
		return nil, err
	}
	if dr != nil && dr.est >= driveCap {
		dr = nil
	}
	out := make([]Query, len(facets))
	for i, f := range facets {
		if dr == nil {
			q, args, err := FacetQuery(d, f, filter)
			if err != nil {
				return nil, err
			}
			out[i] = Query{SQL: q, Args: args}
			continue
		}
		q, args, err := drivenFacetQuery(d, dr, f, filter)
		if err != nil {
			return nil, err
		}
		out[i] = Query{SQL: q, Args: args}
	}
	return out, nil
}

// Query is one statement with its arguments.
type Query struct {
	SQL  string
	Args []any
}

// drivenFacetQuery is FacetQuery over the entities of dr's leaf.
func drivenFacetQuery(d Dialect, dr *driver, facet string, filter *catalog.Filter) (string, []any, error) {
	b := NewBuilder(d)
	from := dr.from(b)
	key := strings.ToLower(strings.TrimSpace(facet))
	if typ, ok := strings.CutPrefix(key, RelationPrefix); ok {
		typArg := b.Arg(typ)
		where, err := b.Filter(filter)
		if err != nil {
			return "", nil, err
		}
		q := "SELECT r.target_ref, count(DISTINCT r.source_ref) FROM " + from + " CROSS JOIN relations r ON r.source_ref = e.ref" +
			" WHERE r.type_lower = " + typArg + " AND " + where +
			" GROUP BY r.target_ref ORDER BY 2 DESC, 1"
		return q, b.Args(), nil
	}
	keyArg := b.Arg(key)
	where, err := b.Filter(filter)
	if err != nil {
		return "", nil, err
	}
	q := "SELECT " + OriginalSQL + ", count(*) FROM " + from + " CROSS JOIN search s ON s.entity_id = e.id" +
		" WHERE s.key = " + keyArg + " AND " + where +
		" GROUP BY s.value, s.original ORDER BY 2 DESC, 1"
	return q, b.Args(), nil
}

// FacetQuery returns a query selecting (value, count) rows for one facet
// over the entities matching filter, most frequent first, then by value.
// Search keys count entities per distinct original value; relation keys
// ("relations.ownedby") count entities per target ref.
func FacetQuery(d Dialect, facet string, filter *catalog.Filter) (string, []any, error) {
	b := NewBuilder(d)
	key := strings.ToLower(strings.TrimSpace(facet))
	if typ, ok := strings.CutPrefix(key, RelationPrefix); ok {
		typArg := b.Arg(typ)
		where, err := b.Filter(filter)
		if err != nil {
			return "", nil, err
		}
		q := "SELECT r.target_ref, count(DISTINCT r.source_ref) FROM relations r JOIN entities e ON e.ref = r.source_ref" +
			" WHERE r.type_lower = " + typArg + " AND " + where +
			" GROUP BY r.target_ref ORDER BY 2 DESC, 1"
		return q, b.Args(), nil
	}
	keyArg := b.Arg(key)
	if filter == nil {
		// Every search row belongs to an existing entity, and (entity, key,
		// value) is unique, so counting rows counts entities.
		q := "SELECT " + OriginalSQL + ", count(*) FROM search s WHERE s.key = " + keyArg +
			" GROUP BY s.value, s.original ORDER BY 2 DESC, 1"
		return q, b.Args(), nil
	}
	where, err := b.Filter(filter)
	if err != nil {
		return "", nil, err
	}
	q := "SELECT " + OriginalSQL + ", count(*) FROM search s JOIN entities e ON e.id = s.entity_id" +
		" WHERE s.key = " + keyArg + " AND " + where +
		" GROUP BY s.value, s.original ORDER BY 2 DESC, 1"
	return q, b.Args(), nil
}

// kindsOnly returns the lowercased kinds when filter is nothing but one
// kind leaf ("kind=component", what a catalog page's pickers count
// within); nil otherwise. Both engines: PostgreSQL's ref columns use the
// "C" collation, so a range of refs is a byte range there as in SQLite.
func kindsOnly(d Dialect, filter *catalog.Filter) []string {
	if filter == nil {
		return nil
	}
	var leaf *catalog.Filter
	var walk func(f *catalog.Filter) bool
	walk = func(f *catalog.Filter) bool {
		if f == nil {
			return false // malformed: the general path reports it
		}
		switch f.Op {
		case catalog.OpMatch:
			if leaf != nil {
				return false
			}
			leaf = f
			return true
		case catalog.OpAll:
			for _, c := range f.Children {
				if !walk(c) {
					return false
				}
			}
			return true
		}
		return false
	}
	if !walk(filter) || leaf == nil || leaf.Match != catalog.MatchIn || len(leaf.Values) == 0 ||
		strings.ToLower(strings.TrimSpace(leaf.Key)) != "kind" {
		return nil
	}
	kinds := lowerAll(leaf.Values)
	for _, k := range kinds {
		if k == "" || strings.ContainsAny(k, ":/ \t") {
			return nil
		}
	}
	return kinds
}

// kindFacetQuery is FacetQuery within the given kinds, read from the
// indexes alone: a relation's source ref starts with its entity's
// lowercased kind and a colon, so the kinds are ranges of the relations'
// key (the join only keeps stored entities, through the ref index); search
// rows are kept by their entity's kind row. Both avoid reading each
// entity's row for its kind, which at 100k entities reads most of the
// table (seconds for relations.ownedBy within kind=component, against a
// tenth of that).
func kindFacetQuery(d Dialect, facet string, kinds []string) (string, []any) {
	b := NewBuilder(d)
	key := strings.ToLower(strings.TrimSpace(facet))
	if typ, ok := strings.CutPrefix(key, RelationPrefix); ok {
		typArg := b.Arg(typ)
		ranges := make([]string, len(kinds))
		for i, k := range kinds {
			ranges[i] = "(r.source_ref >= " + b.Arg(k+":") + " AND r.source_ref < " + b.Arg(k+";") + ")"
		}
		q := "SELECT r.target_ref, count(DISTINCT r.source_ref) FROM relations r JOIN entities e ON e.ref = r.source_ref" +
			" WHERE r.type_lower = " + typArg + " AND (" + strings.Join(ranges, " OR ") + ")" +
			" GROUP BY r.target_ref ORDER BY 2 DESC, 1"
		return q, b.Args()
	}
	keyArg := b.Arg(key)
	q := "SELECT " + OriginalSQL + ", count(*) FROM search s WHERE s.key = " + keyArg +
		" AND s.entity_id IN (SELECT k.entity_id FROM search k WHERE k.key = 'kind' AND " + b.In("k.value", kinds) + ")" +
		" GROUP BY s.value, s.original ORDER BY 2 DESC, 1"
	return q, b.Args()
}

// kindSetFacetQuery is kindFacetQuery for a search facet on PostgreSQL,
// testing each of the key's rows against the kinds' ids from the store's
// cached sets (a bit per row, see filterSet.cond) instead of hash-joining
// them with every kind row: metadata.tags within kind=component at 100k
// entities joined 129k tag rows with 45k kind rows. When the sets are not
// exact for the statement's snapshot (a write landed since their sync),
// the rows are tested against the kind rows as kindFacetQuery does. ok is
// false when the set is too large to send.
func kindSetFacetQuery(d Dialect, facet string, kinds []string, fs *filterSet) (string, []any, bool) {
	b := NewBuilder(d)
	keyArg := b.Arg(strings.ToLower(strings.TrimSpace(facet)))
	// filterSet.cond tests "e.id": e names the row's entity id.
	probes := "e.id IN (SELECT k.entity_id FROM search k WHERE k.key = 'kind' AND " + b.In("k.value", kinds) + ")"
	cond, ok := fs.cond(b, probes)
	if !ok {
		return "", nil, false
	}
	q := "SELECT " + OriginalSQL + ", count(*) FROM search s CROSS JOIN LATERAL (SELECT s.entity_id AS id) e" +
		" WHERE s.key = " + keyArg + " AND " + cond +
		" GROUP BY s.value, s.original ORDER BY 2 DESC, 1"
	return q, b.Args(), true
}
