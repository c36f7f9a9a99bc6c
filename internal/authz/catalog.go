package authz

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/atrium-portal/atrium/internal/auth"
	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
)

// The permissions the catalog checks.
const (
	PermEntityRead     = "catalog.entity.read"
	PermEntityCreate   = "catalog.entity.create"
	PermEntityDelete   = "catalog.entity.delete"
	PermEntityRefresh  = "catalog.entity.refresh"
	PermLocationRead   = "catalog.location.read"
	PermLocationCreate = "catalog.location.create"
	PermLocationDelete = "catalog.location.delete"
)

// Catalog returns inner with every call authorized for the principal in the
// call's context: reads are filtered in the store's query (an entity the
// caller may not read looks absent), and changes need their permission.
func Catalog(inner engine.Catalog, a *Authorizer) engine.Catalog {
	return &guardedCatalog{inner: inner, a: a}
}

type guardedCatalog struct {
	inner engine.Catalog
	a     *Authorizer
}

var _ engine.Catalog = (*guardedCatalog)(nil)

// readFilter returns the filter of readable entities combined with f, or
// denyAll.
func (g *guardedCatalog) readFilter(ctx context.Context, f *catalog.Filter) (*catalog.Filter, bool, error) {
	rf, denyAll, err := g.a.Filter(ctx, auth.PrincipalFrom(ctx), PermEntityRead)
	if err != nil || denyAll {
		return nil, denyAll, err
	}
	switch {
	case rf == nil:
		return f, false, nil
	case f == nil:
		return rf, false, nil
	}
	return catalog.All(f, rf), false, nil
}

// readable reports whether the caller may read e, recording a denial.
func (g *guardedCatalog) readable(ctx context.Context, e *catalog.Entity) (bool, error) {
	d, err := g.a.Authorize(ctx, auth.PrincipalFrom(ctx), PermEntityRead, &Resource{Entity: e})
	return d.Result == Allow, err
}

func (g *guardedCatalog) EntityByRef(ctx context.Context, ref string) (*catalog.Entity, error) {
	e, err := g.inner.EntityByRef(ctx, ref)
	if err != nil {
		return nil, err
	}
	ok, err := g.readable(ctx, e)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound(ref, e)
	}
	return e, nil
}

// notFound is the engine's answer for an absent entity, so that an entity
// the caller may not read cannot be told from one that does not exist.
func notFound(ref string, e *catalog.Entity) error {
	r, err := catalog.ParseRef(ref, catalog.RefDefaults{})
	if err != nil {
		r = e.Ref()
	}
	return fault.New(fault.NotFound, "No entity named '%s' found, with kind '%s' in namespace '%s'", r.Name, r.Kind, r.Namespace)
}

func (g *guardedCatalog) EntityByUID(ctx context.Context, uid string) (*catalog.Entity, error) {
	e, err := g.inner.EntityByUID(ctx, uid)
	if err != nil {
		return nil, err
	}
	ok, err := g.readable(ctx, e)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fault.New(fault.NotFound, "No entity with uid %s", uid)
	}
	return e, nil
}

func (g *guardedCatalog) EntitiesByRefs(ctx context.Context, refs []string, filter *catalog.Filter) ([]*catalog.Entity, error) {
	f, denyAll, err := g.readFilter(ctx, filter)
	if err != nil {
		return nil, err
	}
	if denyAll {
		return make([]*catalog.Entity, len(refs)), nil
	}
	return g.inner.EntitiesByRefs(ctx, refs, f)
}

func (g *guardedCatalog) Entities(ctx context.Context, q engine.Query) (*engine.Page, error) {
	f, denyAll, err := g.readFilter(ctx, q.Filter)
	if err != nil {
		return nil, err
	}
	if denyAll {
		f = catalog.Any()
	}
	q.Filter = f
	return g.inner.Entities(ctx, q)
}

func (g *guardedCatalog) Facets(ctx context.Context, facets []string, filter *catalog.Filter) (map[string][]store.FacetCount, error) {
	f, denyAll, err := g.readFilter(ctx, filter)
	if err != nil {
		return nil, err
	}
	if denyAll {
		f = catalog.Any()
	}
	return g.inner.Facets(ctx, facets, f)
}

func (g *guardedCatalog) Search(ctx context.Context, p store.EntitySearchParams) ([]*catalog.Entity, error) {
	f, denyAll, err := g.readFilter(ctx, p.Filter)
	if err != nil {
		return nil, err
	}
	if denyAll {
		return []*catalog.Entity{}, nil
	}
	p.Filter = f
	return g.inner.Search(ctx, p)
}

// check returns nil when the caller may use perm on e (e may be nil for
// permissions without a resource), or fault.Forbidden naming perm.
func (g *guardedCatalog) check(ctx context.Context, perm string, e *catalog.Entity) error {
	var res *Resource
	if e != nil {
		res = &Resource{Entity: e}
	}
	return g.a.Check(ctx, auth.PrincipalFrom(ctx), perm, res)
}

func (g *guardedCatalog) DeleteByUID(ctx context.Context, uid string) error {
	e, err := g.EntityByUID(ctx, uid)
	if err != nil {
		return err
	}
	if err := g.check(ctx, PermEntityDelete, e); err != nil {
		return err
	}
	return g.inner.DeleteByUID(ctx, uid)
}

func (g *guardedCatalog) Refresh(ctx context.Context, ref string) error {
	e, err := g.EntityByRef(ctx, ref)
	if err != nil {
		return err
	}
	if err := g.check(ctx, PermEntityRefresh, e); err != nil {
		return err
	}
	return g.inner.Refresh(ctx, ref)
}

func (g *guardedCatalog) Ancestry(ctx context.Context, ref string) (*engine.Ancestry, error) {
	if _, err := g.EntityByRef(ctx, ref); err != nil {
		return nil, err
	}
	anc, err := g.inner.Ancestry(ctx, ref)
	if err != nil {
		return nil, err
	}
	items := anc.Items[:0:0]
	for _, it := range anc.Items {
		d, err := g.a.decide(auth.PrincipalFrom(ctx), PermEntityRead, &Resource{Entity: it.Entity})
		if err != nil {
			return nil, err
		}
		if d.Result == Allow {
			items = append(items, it)
		}
	}
	anc.Items = items
	return anc, nil
}

// ValidateEntity stores nothing and reads nothing of the catalog, so any
// signed-in caller may use it.
func (g *guardedCatalog) ValidateEntity(ctx context.Context, location string, raw json.RawMessage) ([]engine.Problem, error) {
	if !authenticated(auth.PrincipalFrom(ctx)) {
		return nil, fault.New(fault.Unauthorized, "sign in to validate entities")
	}
	return g.inner.ValidateEntity(ctx, location, raw)
}

// AddLocation needs catalog.location.create. When the policy allows it only
// on some entities, the location is processed first without storing
// anything, and every entity it holds (Location entities aside) must be
// allowed; a dry run only needs the permission on some entity.
func (g *guardedCatalog) AddLocation(ctx context.Context, spec engine.LocationSpec, dryRun bool) (*engine.AddLocationResult, error) {
	p := auth.PrincipalFrom(ctx)
	d, err := g.a.Authorize(ctx, p, PermLocationCreate, nil)
	if err != nil {
		return nil, err
	}
	switch {
	case d.Result == Deny:
		return nil, fault.New(fault.Forbidden, "not allowed: %s (%s)", PermLocationCreate, d.Reason)
	case dryRun || d.Result == Allow:
		return g.inner.AddLocation(ctx, spec, dryRun)
	}
	dry, err := g.inner.AddLocation(ctx, spec, true)
	if err != nil {
		return nil, err
	}
	checked := 0
	for _, e := range dry.Entities {
		if strings.EqualFold(e.Kind, "Location") {
			continue
		}
		checked++
		if err := g.check(ctx, PermLocationCreate, withRelations(e)); err != nil {
			return nil, fault.New(fault.Forbidden, "not allowed: %s on %s, which this location holds", PermLocationCreate, e.Ref())
		}
	}
	if checked == 0 {
		g.a.recordDenial(ctx, Decision{Permission: PermLocationCreate, Result: Deny, Reason: "the location holds no entity to check ownership against"}, nil)
		return nil, fault.New(fault.Forbidden, "not allowed: %s (the location holds no entity to check ownership against)", PermLocationCreate)
	}
	return g.inner.AddLocation(ctx, spec, false)
}

func (g *guardedCatalog) Locations(ctx context.Context) ([]store.Location, error) {
	if err := g.check(ctx, PermLocationRead, nil); err != nil {
		return nil, err
	}
	return g.inner.Locations(ctx)
}

func (g *guardedCatalog) Location(ctx context.Context, id string) (*store.Location, error) {
	if err := g.check(ctx, PermLocationRead, nil); err != nil {
		return nil, err
	}
	return g.inner.Location(ctx, id)
}

// DeleteLocation needs catalog.location.delete. When the policy allows it
// only on some entities, every entity the location holds must be allowed.
func (g *guardedCatalog) DeleteLocation(ctx context.Context, id string) error {
	p := auth.PrincipalFrom(ctx)
	d, err := g.a.Authorize(ctx, p, PermLocationDelete, nil)
	if err != nil {
		return err
	}
	switch d.Result {
	case Deny:
		return fault.New(fault.Forbidden, "not allowed: %s (%s)", PermLocationDelete, d.Reason)
	case Allow:
		return g.inner.DeleteLocation(ctx, id)
	}
	loc, err := g.inner.Location(ctx, id)
	if err != nil {
		return err
	}
	origin := catalog.LocationRef{Type: loc.Type, Target: loc.Target}.String()
	// One query finds an entity of the location that the caller may not
	// delete it for, if there is one.
	page, err := g.inner.Entities(ctx, engine.Query{
		Filter: catalog.All(
			catalog.In("metadata.annotations."+catalog.AnnotationManagedByOriginLocation, origin),
			catalog.Not(catalog.In("kind", "location")),
			catalog.Not(d.Filter),
		),
		Limit: 1,
	})
	if err != nil {
		return err
	}
	if len(page.Items) > 0 {
		e := page.Items[0]
		g.a.recordDenial(ctx, Decision{Permission: PermLocationDelete, Result: Deny, Reason: "the location holds " + e.Ref().String()}, &Resource{Entity: e})
		return fault.New(fault.Forbidden, "not allowed: %s (the location holds %s)", PermLocationDelete, e.Ref())
	}
	return g.inner.DeleteLocation(ctx, id)
}

func (g *guardedCatalog) LocationByEntity(ctx context.Context, ref string) (*store.Location, error) {
	if _, err := g.EntityByRef(ctx, ref); err != nil {
		return nil, err
	}
	if err := g.check(ctx, PermLocationRead, nil); err != nil {
		return nil, err
	}
	return g.inner.LocationByEntity(ctx, ref)
}

// AnalyzeLocation reads a location without storing anything; it needs
// catalog.location.create on some entity, like a dry run.
func (g *guardedCatalog) AnalyzeLocation(ctx context.Context, spec engine.LocationSpec, catalogFilename string) (*engine.Analysis, error) {
	d, err := g.a.Authorize(ctx, auth.PrincipalFrom(ctx), PermLocationCreate, nil)
	if err != nil {
		return nil, err
	}
	if d.Result == Deny {
		return nil, fault.New(fault.Forbidden, "not allowed: %s (%s)", PermLocationCreate, d.Reason)
	}
	return g.inner.AnalyzeLocation(ctx, spec, catalogFilename)
}
