package store

import "context"

// BulkStore lets the engine load a large catalog into an empty database
// faster: the secondary indexes (those that only speed up filters, facets,
// ordering and deletes) are dropped for the load and built once at its end,
// which costs far less than inserting every row into every index as it
// arrives.
//
// While a bulk load lasts every method returns exactly what it would
// otherwise (no result depends on an index), only more slowly for filtered
// lists, facets and relation deletes. A process that dies during a bulk
// load leaves the indexes missing; Migrate builds them again.
type BulkStore interface {
	// BulkBegin starts a bulk load when the catalog holds no entity, and
	// reports whether it did; on a catalog with entities it does nothing.
	BulkBegin(ctx context.Context) (bool, error)
	// BulkEnd builds the indexes BulkBegin dropped and refreshes the query
	// planner's statistics. Without a bulk load in progress it does nothing.
	BulkEnd(ctx context.Context) error
}
