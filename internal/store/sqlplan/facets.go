package sqlplan

import (
	"strings"

	"github.com/atrium-portal/atrium/internal/catalog"
)

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
		q := "SELECT s.original, count(*) FROM search s WHERE s.key = " + keyArg +
			" GROUP BY s.value, s.original ORDER BY 2 DESC, 1"
		return q, b.Args(), nil
	}
	where, err := b.Filter(filter)
	if err != nil {
		return "", nil, err
	}
	q := "SELECT s.original, count(*) FROM search s JOIN entities e ON e.id = s.entity_id" +
		" WHERE s.key = " + keyArg + " AND " + where +
		" GROUP BY s.value, s.original ORDER BY 2 DESC, 1"
	return q, b.Args(), nil
}
