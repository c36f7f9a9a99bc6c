package store

import "context"

// BulkStore lets the engine load a large catalog into an empty database
// faster: the secondary indexes (those that only speed up filters, facets,
// ordering and deletes) are dropped for the load and built once at its end,
// which costs far less than inserting every row into every index as it
// arrives.
//
// While a bulk load lasts every method returns what it would otherwise (no
// result depends on an index), only more slowly for filtered lists, facets
// and relation deletes, with one exception: a driver may stage the
// relation rows of a large load and make them readable a bounded time
// after their entity (SQLite: internal/store/sqlite/stage.go), since
// during a first load relations are incomplete until both sides are
// loaded anyway. When BulkEnd returns every relation is readable. A
// process that dies during a bulk load leaves the indexes missing and
// perhaps rows staged; Migrate merges those and builds the indexes again.
type BulkStore interface {
	// BulkBegin starts a bulk load when the catalog holds no entity, and
	// reports whether it did; on a catalog with entities it does nothing.
	BulkBegin(ctx context.Context) (bool, error)
	// BulkEnd makes every staged relation readable, builds the indexes
	// BulkBegin dropped and refreshes the query planner's statistics.
	// Without a bulk load in progress it does nothing.
	BulkEnd(ctx context.Context) error
}
