package tracing

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/store"
)

// Store is a store.Driver whose catalog calls (entities, edges, locations:
// what the engine calls) each run in a client span named after the method
// ("store.EntityUpsert"), so a slow request shows which queries it waited
// on. Other calls go straight to the Driver.
type Store struct {
	store.Driver
	tr     trace.Tracer
	system attribute.KeyValue
}

var _ store.Driver = (*Store)(nil)

// WrapStore returns d traced through p.
func (p *Provider) WrapStore(d store.Driver) *Store {
	sys := d.Engine()
	if sys == "postgres" {
		sys = "postgresql"
	}
	return &Store{Driver: d, tr: p.Tracer(), system: attribute.String("db.system.name", sys)}
}

func (s *Store) start(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	return s.tr.Start(ctx, "store."+name, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(append(attrs, s.system)...))
}

// EntityUpsert traces store.Driver's EntityUpsert.
func (s *Store) EntityUpsert(ctx context.Context, p store.EntityUpsertParams) (store.EntityUpsertResult, error) {
	ctx, span := s.start(ctx, "EntityUpsert", attribute.Int("atrium.records", len(p.Records)))
	v, err := s.Driver.EntityUpsert(ctx, p)
	End(span, err)
	return v, err
}

// EntityStates traces store.Driver's EntityStates.
func (s *Store) EntityStates(ctx context.Context, refs []string) (map[string]store.EntityState, error) {
	ctx, span := s.start(ctx, "EntityStates", attribute.Int("atrium.refs", len(refs)))
	v, err := s.Driver.EntityStates(ctx, refs)
	End(span, err)
	return v, err
}

// EntityGetByRef traces store.Driver's EntityGetByRef.
func (s *Store) EntityGetByRef(ctx context.Context, ref string) (*catalog.Stored, error) {
	ctx, span := s.start(ctx, "EntityGetByRef")
	v, err := s.Driver.EntityGetByRef(ctx, ref)
	End(span, err)
	return v, err
}

// EntityGetByUID traces store.Driver's EntityGetByUID.
func (s *Store) EntityGetByUID(ctx context.Context, uid string) (*catalog.Stored, error) {
	ctx, span := s.start(ctx, "EntityGetByUID")
	v, err := s.Driver.EntityGetByUID(ctx, uid)
	End(span, err)
	return v, err
}

// EntityGetByRefs traces store.Driver's EntityGetByRefs.
func (s *Store) EntityGetByRefs(ctx context.Context, refs []string, filter *catalog.Filter) ([]*catalog.Stored, error) {
	ctx, span := s.start(ctx, "EntityGetByRefs", attribute.Int("atrium.refs", len(refs)))
	v, err := s.Driver.EntityGetByRefs(ctx, refs, filter)
	End(span, err)
	return v, err
}

// EntityList traces store.Driver's EntityList.
func (s *Store) EntityList(ctx context.Context, p store.EntityListParams) (store.EntityListResult, error) {
	ctx, span := s.start(ctx, "EntityList")
	v, err := s.Driver.EntityList(ctx, p)
	End(span, err)
	return v, err
}

// EntityFacets traces store.Driver's EntityFacets.
func (s *Store) EntityFacets(ctx context.Context, p store.EntityFacetsParams) (map[string][]store.FacetCount, error) {
	ctx, span := s.start(ctx, "EntityFacets")
	v, err := s.Driver.EntityFacets(ctx, p)
	End(span, err)
	return v, err
}

// EntitySearch traces store.Driver's EntitySearch.
func (s *Store) EntitySearch(ctx context.Context, p store.EntitySearchParams) ([]store.SearchHit, error) {
	ctx, span := s.start(ctx, "EntitySearch")
	v, err := s.Driver.EntitySearch(ctx, p)
	End(span, err)
	return v, err
}

// EntityCount traces store.Driver's EntityCount.
func (s *Store) EntityCount(ctx context.Context) (map[string]int, error) {
	ctx, span := s.start(ctx, "EntityCount")
	v, err := s.Driver.EntityCount(ctx)
	End(span, err)
	return v, err
}

// EntityRefsAll traces store.Driver's EntityRefsAll.
func (s *Store) EntityRefsAll(ctx context.Context, after string, limit int) ([]string, error) {
	ctx, span := s.start(ctx, "EntityRefsAll")
	v, err := s.Driver.EntityRefsAll(ctx, after, limit)
	End(span, err)
	return v, err
}

// EdgeReplace traces store.Driver's EdgeReplace.
func (s *Store) EdgeReplace(ctx context.Context, parent string, children []string) ([]string, error) {
	ctx, span := s.start(ctx, "EdgeReplace")
	v, err := s.Driver.EdgeReplace(ctx, parent, children)
	End(span, err)
	return v, err
}

// EdgeParents traces store.Driver's EdgeParents.
func (s *Store) EdgeParents(ctx context.Context, refs []string) (map[string][]string, error) {
	ctx, span := s.start(ctx, "EdgeParents")
	v, err := s.Driver.EdgeParents(ctx, refs)
	End(span, err)
	return v, err
}

// EdgeChildren traces store.Driver's EdgeChildren.
func (s *Store) EdgeChildren(ctx context.Context, parent string) ([]string, error) {
	ctx, span := s.start(ctx, "EdgeChildren")
	v, err := s.Driver.EdgeChildren(ctx, parent)
	End(span, err)
	return v, err
}

// LocationList traces store.Driver's LocationList.
func (s *Store) LocationList(ctx context.Context) ([]store.Location, error) {
	ctx, span := s.start(ctx, "LocationList")
	v, err := s.Driver.LocationList(ctx)
	End(span, err)
	return v, err
}

// LocationGet traces store.Driver's LocationGet.
func (s *Store) LocationGet(ctx context.Context, id string) (*store.Location, error) {
	ctx, span := s.start(ctx, "LocationGet")
	v, err := s.Driver.LocationGet(ctx, id)
	End(span, err)
	return v, err
}

// EntityDelete traces store.Driver's EntityDelete.
func (s *Store) EntityDelete(ctx context.Context, refs []string) error {
	ctx, span := s.start(ctx, "EntityDelete", attribute.Int("atrium.refs", len(refs)))
	err := s.Driver.EntityDelete(ctx, refs)
	End(span, err)
	return err
}

// EdgeAdd traces store.Driver's EdgeAdd.
func (s *Store) EdgeAdd(ctx context.Context, parent string, children []string) error {
	ctx, span := s.start(ctx, "EdgeAdd")
	err := s.Driver.EdgeAdd(ctx, parent, children)
	End(span, err)
	return err
}

// EdgeRemove traces store.Driver's EdgeRemove.
func (s *Store) EdgeRemove(ctx context.Context, parent string, children []string) error {
	ctx, span := s.start(ctx, "EdgeRemove")
	err := s.Driver.EdgeRemove(ctx, parent, children)
	End(span, err)
	return err
}

// LocationCreate traces store.Driver's LocationCreate.
func (s *Store) LocationCreate(ctx context.Context, l store.Location) error {
	ctx, span := s.start(ctx, "LocationCreate")
	err := s.Driver.LocationCreate(ctx, l)
	End(span, err)
	return err
}

// LocationDelete traces store.Driver's LocationDelete.
func (s *Store) LocationDelete(ctx context.Context, id string) error {
	ctx, span := s.start(ctx, "LocationDelete")
	err := s.Driver.LocationDelete(ctx, id)
	End(span, err)
	return err
}
