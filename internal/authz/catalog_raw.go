package authz

import (
	"context"
	"encoding/json"

	"github.com/atrium-portal/atrium/internal/auth"
	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/fault"
)

var _ engine.RawCatalog = (*guardedCatalog)(nil)

// rawInner returns the inner catalog's raw reads, or nil.
func (g *guardedCatalog) rawInner() engine.RawCatalog {
	rc, _ := g.inner.(engine.RawCatalog)
	return rc
}

// EntityRawByRef is EntityByRef as final JSON. The inner catalog may serve
// it from its cache; the read permission is checked here on every call,
// and the entity is decoded only when the policy's answer depends on it.
func (g *guardedCatalog) EntityRawByRef(ctx context.Context, ref string) (*engine.Raw, error) {
	rc := g.rawInner()
	if rc == nil {
		return rawOf(g.EntityByRef(ctx, ref))
	}
	raw, err := rc.EntityRawByRef(ctx, ref)
	if err != nil {
		return nil, err
	}
	return g.readableRaw(ctx, raw, func(e *catalog.Entity) error { return notFound(ref, e) })
}

// EntityRawByUID is EntityByUID as final JSON; see EntityRawByRef.
func (g *guardedCatalog) EntityRawByUID(ctx context.Context, uid string) (*engine.Raw, error) {
	rc := g.rawInner()
	if rc == nil {
		return rawOf(g.EntityByUID(ctx, uid))
	}
	raw, err := rc.EntityRawByUID(ctx, uid)
	if err != nil {
		return nil, err
	}
	return g.readableRaw(ctx, raw, func(*catalog.Entity) error { return fault.New(fault.NotFound, "No entity with uid %s", uid) })
}

// EntitiesRaw is Entities as final JSON, filtered in the query like it.
func (g *guardedCatalog) EntitiesRaw(ctx context.Context, q engine.Query) (*engine.RawPage, error) {
	f, denyAll, err := g.readFilter(ctx, q.Filter)
	if err != nil {
		return nil, err
	}
	if denyAll {
		f = catalog.Any()
	}
	q.Filter = f
	if rc := g.rawInner(); rc != nil {
		return rc.EntitiesRaw(ctx, q)
	}
	page, err := g.inner.Entities(ctx, q)
	if err != nil {
		return nil, err
	}
	out := &engine.RawPage{HasMore: page.HasMore, Total: page.Total, First: page.First, Last: page.Last}
	for _, e := range page.Items {
		raw, err := rawOf(e, nil)
		if err != nil {
			return nil, err
		}
		out.Items = append(out.Items, raw)
	}
	return out, nil
}

var _ engine.RawByRefs = (*guardedCatalog)(nil)

// EntitiesRawByRefs is EntitiesByRefs as final JSON, filtered in the read
// like it: the caller's read conditions join filter, so an entity the
// caller may not read is nil. The inner catalog serves from its entity
// cache only when the resulting filter is nil (no conditions at all).
func (g *guardedCatalog) EntitiesRawByRefs(ctx context.Context, refs []string, filter *catalog.Filter) ([]*engine.Raw, error) {
	f, denyAll, err := g.readFilter(ctx, filter)
	if err != nil {
		return nil, err
	}
	if denyAll {
		return make([]*engine.Raw, len(refs)), nil
	}
	if rr, ok := g.inner.(engine.RawByRefs); ok {
		return rr.EntitiesRawByRefs(ctx, refs, f)
	}
	ents, err := g.inner.EntitiesByRefs(ctx, refs, f)
	if err != nil {
		return nil, err
	}
	out := make([]*engine.Raw, len(refs))
	for i, e := range ents {
		if i < len(out) && e != nil {
			if out[i], err = rawOf(e, nil); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// readableRaw returns raw when the caller may read it, and hidden(entity)
// otherwise. A policy that allows or denies every entity outright needs no
// decoding; a conditional one is evaluated on the decoded entity, exactly
// as for EntityByRef.
func (g *guardedCatalog) readableRaw(ctx context.Context, raw *engine.Raw, hidden func(*catalog.Entity) error) (*engine.Raw, error) {
	f, denyAll, err := g.a.Filter(ctx, auth.PrincipalFrom(ctx), PermEntityRead)
	if err != nil {
		return nil, err
	}
	if f == nil && !denyAll {
		return raw, nil
	}
	e, err := raw.Entity()
	if err != nil {
		return nil, err
	}
	ok, err := g.readable(ctx, e)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, hidden(e)
	}
	return raw, nil
}

// rawOf encodes an entity read through the decoded path.
func rawOf(e *catalog.Entity, err error) (*engine.Raw, error) {
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fault.Wrap(fault.Internal, err, "encoding entity %s", e.Ref())
	}
	return &engine.Raw{Ref: e.Ref().String(), UID: e.Metadata.UID, JSON: b}, nil
}

var _ engine.RawFacets = (*guardedCatalog)(nil)

// FacetsRaw is Facets as the encoded answer, filtered in the query like
// it: the inner catalog keys its cached answers on that filter, so an
// answer is only served to callers with the same read conditions.
func (g *guardedCatalog) FacetsRaw(ctx context.Context, facets []string, filter *catalog.Filter) ([]byte, error) {
	f, denyAll, err := g.readFilter(ctx, filter)
	if err != nil {
		return nil, err
	}
	if denyAll {
		f = catalog.Any()
	}
	if rf, ok := g.inner.(engine.RawFacets); ok {
		return rf.FacetsRaw(ctx, facets, f)
	}
	res, err := g.inner.Facets(ctx, facets, f)
	if err != nil {
		return nil, err
	}
	return engine.EncodeFacets(facets, res)
}
