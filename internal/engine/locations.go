package engine

import (
	"context"
	"encoding/json"
	"net/url"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/plugin"
)

// databaseKey is the edge parent of registered locations' entities.
var databaseKey = providerKey(DatabaseProviderName)

// AddLocation registers a location (§2.12) and processes it at once. With
// dryRun nothing is stored: the location and everything it emits is
// processed in memory and returned, and processing errors are a
// fault.Invalid.
func (e *Engine) AddLocation(ctx context.Context, spec LocationSpec, dryRun bool) (*AddLocationResult, error) {
	loc, err := e.checkLocationSpec(spec)
	if err != nil {
		return nil, err
	}
	existing, err := e.findLocation(ctx, loc)
	if err != nil {
		return nil, err
	}
	if dryRun {
		doc := locationDocument(loc, loc.String())
		p, err := e.runPass(ctx, passSpec{kind: passDry, units: []*unit{{doc: &doc, locKey: loc.String()}}})
		if err != nil {
			return nil, err
		}
		if len(p.problems) > 0 {
			msgs := make([]string, len(p.problems))
			for i, pr := range p.problems {
				msgs[i] = pr.String()
			}
			return nil, fault.New(fault.Invalid, "%s", strings.Join(msgs, "; "))
		}
		ents := p.entities
		if ents == nil {
			ents = []*catalog.Entity{}
		}
		return &AddLocationResult{
			Location: store.Location{ID: loc.String(), Type: loc.Type, Target: loc.Target},
			Entities: ents,
			Exists:   existing != nil,
		}, nil
	}
	if existing != nil {
		return nil, fault.New(fault.Conflict, "Location %s already exists", loc)
	}
	e.locMu.Lock()
	defer e.locMu.Unlock()
	l := store.Location{ID: uuid.NewString(), Type: loc.Type, Target: loc.Target, CreatedAt: e.now()}
	if err := e.store.LocationCreate(ctx, l); err != nil {
		return nil, err
	}
	m := plugin.Mutation{Type: plugin.MutationDelta}
	if err := addLocation(&m, loc, loc.String()); err != nil {
		return nil, err
	}
	if err := e.emitOwn(ctx, DatabaseProviderName, m); err != nil {
		// The location is registered; the periodic refresh completes it.
		e.log.Error("catalog could not process a registered location", "location", loc.String(), "err", err)
	}
	return &AddLocationResult{Location: l, Entities: []*catalog.Entity{}}, nil
}

// checkLocationSpec validates a location to register.
func (e *Engine) checkLocationSpec(spec LocationSpec) (catalog.LocationRef, error) {
	typ, target := strings.TrimSpace(spec.Type), strings.TrimSpace(spec.Target)
	if !slices.Contains(e.allowed, typ) {
		b, _ := json.Marshal(e.allowed)
		return catalog.LocationRef{}, fault.New(fault.Invalid, "Registered locations must be of an allowed type %s", b)
	}
	if target == "" {
		return catalog.LocationRef{}, fault.New(fault.Invalid, "location target must not be empty")
	}
	switch typ {
	case "url":
		u, err := url.Parse(target)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return catalog.LocationRef{}, fault.New(fault.Invalid, "location target %q is not an absolute http(s) URL", target)
		}
	case "file":
		if !filepath.IsAbs(target) {
			target = filepath.Join(e.baseDir, target)
		}
		target = filepath.Clean(target)
	}
	if _, ok := e.readers[typ]; !ok {
		return catalog.LocationRef{}, fault.New(fault.Invalid, "no reader is configured for location type %q", typ)
	}
	return catalog.LocationRef{Type: typ, Target: target}, nil
}

// findLocation returns the registered location with loc's type and target.
func (e *Engine) findLocation(ctx context.Context, loc catalog.LocationRef) (*store.Location, error) {
	list, err := e.store.LocationList(ctx)
	if err != nil {
		return nil, err
	}
	for i := range list {
		if list[i].Type == loc.Type && list[i].Target == loc.Target {
			return &list[i], nil
		}
	}
	return nil, nil
}

// Locations returns the registered locations, oldest first.
func (e *Engine) Locations(ctx context.Context) ([]store.Location, error) {
	return e.store.LocationList(ctx)
}

// Location returns one registered location.
func (e *Engine) Location(ctx context.Context, id string) (*store.Location, error) {
	l, err := e.store.LocationGet(ctx, id)
	if fault.Is(err, fault.NotFound) {
		return nil, fault.New(fault.NotFound, "Found no location with ID %s", id)
	}
	return l, err
}

// DeleteLocation unregisters a location and deletes at once its Location
// entity and every entity left without a parent.
func (e *Engine) DeleteLocation(ctx context.Context, id string) error {
	e.locMu.Lock()
	defer e.locMu.Unlock()
	l, err := e.Location(ctx, id)
	if err != nil {
		return err
	}
	if err := e.store.LocationDelete(ctx, id); err != nil {
		if fault.Is(err, fault.NotFound) {
			return fault.New(fault.NotFound, "Found no location with ID %s", id)
		}
		return err
	}
	ref := generatedRef(catalog.LocationRef{Type: l.Type, Target: l.Target})
	return e.removeFromParent(ctx, databaseKey, []string{ref})
}

// removeFromParent removes parent→refs edges and deletes the refs left
// without a parent, with their descendants.
func (e *Engine) removeFromParent(ctx context.Context, parent string, refs []string) error {
	if len(refs) == 0 {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.store.EdgeRemove(ctx, parent, refs); err != nil {
		return err
	}
	return e.deleteParentless(ctx, refs)
}

// LocationByEntity returns the registered location an entity originates
// from, through its backstage.io/managed-by-origin-location annotation.
func (e *Engine) LocationByEntity(ctx context.Context, ref string) (*store.Location, error) {
	ent, err := e.EntityByRef(ctx, ref)
	if err != nil {
		return nil, err
	}
	origin := ent.Metadata.Annotations[catalog.AnnotationManagedByOriginLocation]
	loc, err := catalog.ParseLocationRef(origin)
	if err != nil {
		return nil, fault.New(fault.NotFound, "Entity %s has no valid %s annotation", ent.Ref(), catalog.AnnotationManagedByOriginLocation)
	}
	l, err := e.findLocation(ctx, loc)
	if err != nil {
		return nil, err
	}
	if l == nil {
		return nil, fault.New(fault.NotFound, "Found no location with type '%s' and target '%s'", loc.Type, loc.Target)
	}
	return l, nil
}
