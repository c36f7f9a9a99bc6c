// Package store is the seam between Atrium's services and its databases: one
// Driver interface, an implementation per engine (sqlite/, postgres/), and one
// conformance suite (storetest/) that every implementation must pass.
//
// Methods are named noun first (EntityGetByRef) and take params structs when
// they take more than a key. Errors use internal/fault: a missing row is
// fault.NotFound, a refused write fault.Conflict.
package store

import (
	"context"
	"time"

	"github.com/atrium-portal/atrium/internal/catalog"
)

// Driver is what every database engine implements.
type Driver interface {
	AuditStore
	RateLimitStore
	AuthStore
	BulkStore
	TaskStore
	OperationStore

	// Engine names the implementation: "sqlite" or "postgres".
	Engine() string
	// Migrate applies the embedded migrations that have not run yet.
	Migrate(ctx context.Context) error
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close releases the pool.
	Close() error

	// EntityUpsert writes records in one transaction. A record whose Ref
	// exists with a different non-empty LocationKey is not written and is
	// reported in Conflicts. A record whose Ref exists keeps its UID (the
	// record's UID is used only for new entities). Relation rows originating
	// from each written entity are replaced by the record's rows; search rows
	// and the full-text document are replaced.
	EntityUpsert(ctx context.Context, p EntityUpsertParams) (EntityUpsertResult, error)
	// EntityStates returns, for those refs that exist, what change detection
	// and conflict checks need, without reading bodies.
	EntityStates(ctx context.Context, refs []string) (map[string]EntityState, error)
	// EntityGetByRef returns one entity; fault.NotFound when absent.
	EntityGetByRef(ctx context.Context, ref string) (*catalog.Stored, error)
	// EntityGetByUID returns one entity; fault.NotFound when absent.
	EntityGetByUID(ctx context.Context, uid string) (*catalog.Stored, error)
	// EntityGetByRefs returns the entities in refs order, nil where absent or
	// filtered out by filter (nil filter: no filtering).
	EntityGetByRefs(ctx context.Context, refs []string, filter *catalog.Filter) ([]*catalog.Stored, error)
	// EntityList returns one page of entities matching the params.
	EntityList(ctx context.Context, p EntityListParams) (EntityListResult, error)
	// EntityFacets counts entities per distinct value of each facet key.
	EntityFacets(ctx context.Context, p EntityFacetsParams) (map[string][]FacetCount, error)
	// EntitySearch runs a full-text query (FTS5 / tsvector) ranked best first.
	EntitySearch(ctx context.Context, p EntitySearchParams) ([]SearchHit, error)
	// EntityDelete removes entities by ref, with their relation rows, search
	// rows, and the edges to and from them. Missing refs are ignored.
	EntityDelete(ctx context.Context, refs []string) error
	// EntityCount returns the number of entities per kind (lowercased).
	EntityCount(ctx context.Context) (map[string]int, error)
	// EntityRefsAll pages through every ref, in ref order, after the given one.
	EntityRefsAll(ctx context.Context, after string, limit int) ([]string, error)
	// EntityRecent returns the refs of the limit most recently written
	// entities, newest first.
	EntityRecent(ctx context.Context, limit int) ([]string, error)
	// EntityChangesSince reports whether any entity was written, deleted
	// or had its relations changed, by this process or any other sharing
	// the database, since mark was read (always for the zero mark), and
	// returns the current mark. A write that commits after the call is
	// reported by the next call from the returned mark, even when its
	// transaction began before this one.
	EntityChangesSince(ctx context.Context, mark ChangeMark) (next ChangeMark, changed bool, err error)

	// EdgeReplace sets the children a parent emitted (a parent is an entity
	// ref, or a provider key such as "provider:config"), and returns the
	// children it no longer emits.
	EdgeReplace(ctx context.Context, parent string, children []string) (removed []string, err error)
	// EdgeAdd adds parent→child edges without removing others (delta mutations).
	EdgeAdd(ctx context.Context, parent string, children []string) error
	// EdgeRemove removes parent→child edges.
	EdgeRemove(ctx context.Context, parent string, children []string) error
	// EdgeParents returns each ref's parents; refs without any are absent.
	EdgeParents(ctx context.Context, refs []string) (map[string][]string, error)
	// EdgeChildren returns the children of parent.
	EdgeChildren(ctx context.Context, parent string) ([]string, error)

	// LocationCreate stores a registered location; fault.Conflict when one
	// with the same type and target exists.
	LocationCreate(ctx context.Context, l Location) error
	// LocationList returns every registered location, oldest first.
	LocationList(ctx context.Context) ([]Location, error)
	// LocationGet returns one location; fault.NotFound when absent.
	LocationGet(ctx context.Context, id string) (*Location, error)
	// LocationDelete removes one location; fault.NotFound when absent.
	LocationDelete(ctx context.Context, id string) error
}

// EntityUpsertParams are the records to write.
type EntityUpsertParams struct {
	Records []catalog.Record
}

// EntityUpsertResult reports what a write did.
type EntityUpsertResult struct {
	Written   []string   // refs written (inserted or updated)
	Conflicts []Conflict // refs refused because another location owns them
}

// Conflict is a refused write.
type Conflict struct {
	Ref                 string
	ExistingLocationKey string
	NewLocationKey      string
}

// EntityState is the part of a stored entity that ingestion decides on.
type EntityState struct {
	UID         string
	Hash        string
	LocationKey string
	HasErrors   bool
}

// EntityListParams select, order and page entities.
type EntityListParams struct {
	Filter *catalog.Filter
	// Order is the first sort key; nil sorts by UID ascending.
	Order *Order
	// ThenBy are further sort keys for ties of Order, each with the
	// entities lacking it last. They sort every match (no index walk) and
	// page by Offset only: After and Before are refused.
	ThenBy []Order
	// FullText keeps entities where any of Fields contains Term as a
	// case-insensitive substring (no Fields: the order field).
	FullText *FullText
	// After and Before are keyset positions (exclusive); at most one is set.
	After  *Position
	Before *Position
	// Offset skips entities (only without After/Before).
	Offset int
	// Limit is the page size; 0 means no limit (callers that serve HTTP
	// always set one or stream deliberately).
	Limit int
	// CountTotal asks for Total.
	CountTotal bool
	// CountOnly asks for Total alone: no page is read, so Items is empty
	// and HasMore false whatever Limit and Offset say.
	CountOnly bool
	// KeysOnly lets the driver leave out each item's body, hash, status
	// and relations (Body nil): the caller has the entities' final JSON
	// by UID already (the engine's entity cache) and needs only which
	// entities the page holds, in order, with their sort values. A driver
	// may ignore it and return whole items.
	KeysOnly bool
}

// Order is a sort key: a lowercased dot path. Entities lacking it sort last.
type Order struct {
	Field string
	Desc  bool
}

// FullText is a substring filter over fields.
type FullText struct {
	Term   string
	Fields []string // lowercased dot paths
}

// Position is a keyset position: the sort value (nil: entity lacked the
// field) and the UID that breaks ties.
type Position struct {
	Value *string
	UID   string
}

// EntityListResult is one page.
type EntityListResult struct {
	Items   []*catalog.Stored // in order; with Before, still in forward order
	HasMore bool              // more items exist past the page in the paging direction
	Total   int               // only with CountTotal
}

// EntityFacetsParams name the facets and filter the entities counted.
type EntityFacetsParams struct {
	Facets []string // dot paths as given by the caller; matched lowercased
	Filter *catalog.Filter
}

// FacetCount is one value of a facet, as written, with its entity count.
type FacetCount struct {
	Value string `json:"value"`
	Count int    `json:"count"`
}

// EntitySearchParams is a full-text query.
type EntitySearchParams struct {
	Query  string // words; each must match (prefix match on the last)
	Filter *catalog.Filter
	Limit  int
}

// SearchHit is one full-text result.
type SearchHit struct {
	Ref  string
	Rank float64 // higher is better
}

// Location is a registered location.
type Location struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	Target    string    `json:"target"`
	CreatedAt time.Time `json:"-"`
}
