package engine

import (
	"context"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
)

// LocationEntityRef is the ref of the Location entity that stands for a
// registered location of that type and target.
func LocationEntityRef(typ, target string) string {
	return generatedRef(catalog.LocationRef{Type: typ, Target: target})
}

// UpdateLocation changes the type and target of a registered location,
// keeping its id (§2.12, PUT /locations/{id}). The Location entity of the
// old target and every entity left without a parent are deleted at once,
// and the new target is processed, as unregistering and registering would;
// an unchanged spec changes nothing. Another location with the new type
// and target is a fault.Conflict.
func (e *Engine) UpdateLocation(ctx context.Context, id string, spec LocationSpec) (*store.Location, error) {
	loc, err := e.checkLocationSpec(spec)
	if err != nil {
		return nil, err
	}
	e.locMu.Lock()
	defer e.locMu.Unlock()
	old, err := e.Location(ctx, id)
	if err != nil {
		return nil, err
	}
	if old.Type == loc.Type && old.Target == loc.Target {
		return old, nil
	}
	other, err := e.findLocation(ctx, loc)
	if err != nil {
		return nil, err
	}
	if other != nil {
		return nil, fault.New(fault.Conflict, "Location %s already exists", loc)
	}
	// The store has no update: the row is replaced under locMu, with its id
	// and creation time, and put back as it was if the new one is refused.
	updated := store.Location{ID: old.ID, Type: loc.Type, Target: loc.Target, CreatedAt: old.CreatedAt}
	if err := e.store.LocationDelete(ctx, id); err != nil {
		return nil, err
	}
	if err := e.store.LocationCreate(ctx, updated); err != nil {
		if rerr := e.store.LocationCreate(context.WithoutCancel(ctx), *old); rerr != nil {
			e.log.Error("catalog could not restore a location after a failed update", "id", id, "err", rerr)
		}
		return nil, err
	}
	oldRef := LocationEntityRef(old.Type, old.Target)
	if err := e.removeFromParent(ctx, databaseKey, []string{oldRef}); err != nil {
		return nil, err
	}
	doc := locationDocument(loc, loc.String())
	conn := &connection{e: e, name: "database"}
	if err := conn.ApplyMutation(ctx, Mutation{Type: MutationDelta, Entities: []Deferred{{Document: doc, LocationKey: loc.String()}}}); err != nil {
		// The location is updated; the periodic refresh completes it.
		e.log.Error("catalog could not process an updated location", "location", loc.String(), "err", err)
	}
	return &updated, nil
}
