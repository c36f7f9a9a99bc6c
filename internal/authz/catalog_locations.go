package authz

import (
	"context"

	"github.com/atrium-portal/atrium/internal/auth"
	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
)

// UpdateLocation unregisters the old target and registers the new one in
// one step, so it needs catalog.location.delete and catalog.location.create
// for every entity: a policy that allows either only on some entities (the
// owners' condition) cannot vouch for what the new target will emit.
func (g *guardedCatalog) UpdateLocation(ctx context.Context, id string, spec engine.LocationSpec) (*store.Location, error) {
	p := auth.PrincipalFrom(ctx)
	for _, perm := range []string{PermLocationDelete, PermLocationCreate} {
		d, err := g.a.Authorize(ctx, p, perm, nil)
		if err != nil {
			return nil, err
		}
		switch d.Result {
		case Allow:
		case Deny:
			return nil, fault.New(fault.Forbidden, "not allowed: %s (%s)", perm, d.Reason)
		default:
			g.a.recordDenial(ctx, Decision{Permission: perm, Result: Deny, Reason: "updating a location needs the permission on every entity"}, nil)
			return nil, fault.New(fault.Forbidden, "not allowed: %s (updating a location needs the permission on every entity; unregister and register instead)", perm)
		}
	}
	return g.inner.UpdateLocation(ctx, id, spec)
}
