package store

import (
	"slices"
	"strings"

	"github.com/atrium-portal/atrium/internal/catalog"
)

// SortRelations orders rels by type, then target, bytewise (as the
// engines' binary collation "C" does), and drops duplicates: the order
// in which the drivers return an entity's relations. Drivers read the
// rows in their index's order, one per originating entity, and sort
// here: the few relations of an entity sort faster in Go than through
// a DISTINCT … ORDER BY in the database.
func SortRelations(rels []catalog.Relation) []catalog.Relation {
	slices.SortFunc(rels, func(a, b catalog.Relation) int {
		if c := strings.Compare(a.Type, b.Type); c != 0 {
			return c
		}
		return strings.Compare(a.TargetRef, b.TargetRef)
	})
	return slices.Compact(rels)
}
