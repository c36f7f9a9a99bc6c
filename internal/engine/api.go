package engine

// This file is the contract between the engine and its callers (the web API,
// the CLI and the portal UI). Method bodies live in the other files.

import (
	"context"
	"encoding/json"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/store"
)

// Query is a page request over entities (GET /entities and by-query).
type Query struct {
	Filter *catalog.Filter
	Order  *store.Order
	// ThenBy are further sort keys (GET /entities' repeated order); they
	// page by Offset only.
	ThenBy   []store.Order
	FullText *store.FullText
	After    *store.Position
	Before   *store.Position
	Offset   int
	Limit    int
	// CountTotal asks for the total number of matches.
	CountTotal bool
	// CountOnly asks for the total alone (EntitiesRaw): the page has no
	// items and the store reads none.
	CountOnly bool
	// Fields, when set, project each item of EntitiesRaw to these fields
	// (Backstage's fields parameter); the page says so in Projected.
	Fields []string
}

// Page is one page of entities, each stitched (relations, status, etag).
type Page struct {
	Items   []*catalog.Entity
	HasMore bool
	Total   int
	// First and Last are the keyset positions of the first and last item,
	// from which the API builds its cursors.
	First, Last *store.Position
}

// LocationSpec is a location as a caller names it.
type LocationSpec struct {
	Type   string `json:"type"`
	Target string `json:"target"`
}

// AddLocationResult is what registering a location produced.
type AddLocationResult struct {
	Location store.Location    `json:"location"`
	Entities []*catalog.Entity `json:"entities"`
	Exists   bool              `json:"exists,omitempty"`
}

// Ancestry is the chain of emitters of an entity.
type Ancestry struct {
	RootEntityRef string         `json:"rootEntityRef"`
	Items         []AncestryItem `json:"items"`
}

// AncestryItem is one entity in an ancestry with its parents.
type AncestryItem struct {
	Entity           *catalog.Entity `json:"entity"`
	ParentEntityRefs []string        `json:"parentEntityRefs"`
}

// Problem is one validation or processing error with where it happened.
type Problem = catalog.Problem

// The engine's method set, as callers use it. (*Engine) implements it; the
// web layer depends on this interface, not on *Engine.
type Catalog interface {
	EntityByRef(ctx context.Context, ref string) (*catalog.Entity, error)
	EntityByUID(ctx context.Context, uid string) (*catalog.Entity, error)
	EntitiesByRefs(ctx context.Context, refs []string, filter *catalog.Filter) ([]*catalog.Entity, error)
	Entities(ctx context.Context, q Query) (*Page, error)
	Facets(ctx context.Context, facets []string, filter *catalog.Filter) (map[string][]store.FacetCount, error)
	Search(ctx context.Context, p store.EntitySearchParams) ([]*catalog.Entity, error)
	DeleteByUID(ctx context.Context, uid string) error
	Refresh(ctx context.Context, ref string) error
	Ancestry(ctx context.Context, ref string) (*Ancestry, error)
	// ValidateEntity runs the whole processing pipeline on raw without
	// storing anything; problems are returned, never an error for bad input.
	ValidateEntity(ctx context.Context, location string, raw json.RawMessage) ([]Problem, error)

	AddLocation(ctx context.Context, spec LocationSpec, dryRun bool) (*AddLocationResult, error)
	Locations(ctx context.Context) ([]store.Location, error)
	Location(ctx context.Context, id string) (*store.Location, error)
	DeleteLocation(ctx context.Context, id string) error
	// UpdateLocation changes a registered location's type and target.
	UpdateLocation(ctx context.Context, id string, spec LocationSpec) (*store.Location, error)
	LocationByEntity(ctx context.Context, ref string) (*store.Location, error)
	AnalyzeLocation(ctx context.Context, spec LocationSpec, catalogFilename string) (*Analysis, error)
}

// Analysis is the answer of POST /analyze-location.
type Analysis struct {
	ExistingEntityFiles []ExistingEntityFile `json:"existingEntityFiles"`
	GenerateEntities    []GeneratedEntity    `json:"generateEntities"`
}

// ExistingEntityFile is a descriptor found at an analysed location.
type ExistingEntityFile struct {
	Entity       *catalog.Entity `json:"entity"`
	IsRegistered bool            `json:"isRegistered"`
	Location     LocationSpec    `json:"location"`
}

// GeneratedEntity is an entity proposed for a location that has none.
type GeneratedEntity struct {
	Entity map[string]any   `json:"entity"`
	Fields []GeneratedField `json:"fields"`
}

// GeneratedField is a field of a proposed entity that needs a decision.
type GeneratedField struct {
	Field       string  `json:"field"`
	State       string  `json:"state"`
	Value       *string `json:"value"`
	Description string  `json:"description"`
}
