package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/plugin"
)

// The names of the catalog's own entity providers, which are also the
// buckets of their entities in the store.
const (
	// ConfigProviderName emits the static locations (catalog.locations).
	ConfigProviderName = "config"
	// DatabaseProviderName emits the registered locations (POST /locations).
	DatabaseProviderName = "database"
)

// LocationProvider is one of the catalog's own entity providers, written
// against the public plugin SDK like any plugin's: "config" emits a
// Location entity for every static location and "database" one for every
// registered location, each owned by its location key (type:target), so
// that the first location to emit an entity wins it. The engine follows
// the targets of these Location entities with its readers.
//
// The engine runs them through PluginProvider, the adapter of every
// plugin's provider. It recognises them there and calls Refresh itself: at
// start, as the initial ingest that Ready waits for, and on the catalog's
// processing interval. Run is their own schedule for anyone else holding
// them as a plain plugin.EntityProvider.
type LocationProvider struct {
	e    *Engine
	name string
}

var _ plugin.EntityProvider = (*LocationProvider)(nil)

// LocationProviders returns the engine's own entity providers (the static
// and the registered locations), for the built-in plugin that lists them.
func (e *Engine) LocationProviders() []plugin.EntityProvider {
	var out []plugin.EntityProvider
	for _, p := range e.builtinProviders() {
		out = append(out, p.Provider)
	}
	return out
}

// newLocationProviders builds the engine's own providers, wrapped in the
// plugin adapter.
func (e *Engine) newLocationProviders() []Provider {
	return []Provider{
		&PluginProvider{Provider: &LocationProvider{e: e, name: ConfigProviderName}, Logger: e.log},
		&PluginProvider{Provider: &LocationProvider{e: e, name: DatabaseProviderName}, Logger: e.log},
	}
}

// Name is ConfigProviderName or DatabaseProviderName.
func (p *LocationProvider) Name() string { return p.name }

// Run emits the provider's Location entities now and again on the
// catalog's processing interval (none when it is negative) until ctx is
// done.
func (p *LocationProvider) Run(ctx context.Context, emit func(context.Context, plugin.Mutation) error) error {
	for {
		if err := p.Refresh(ctx, emit); err != nil {
			return err
		}
		if p.e.interval < 0 {
			<-ctx.Done()
			return nil
		}
		t := time.NewTimer(p.e.interval + rand.N(p.e.interval/2+1))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// Refresh emits one full mutation: the Location entities of the
// provider's locations as they are now.
func (p *LocationProvider) Refresh(ctx context.Context, emit func(context.Context, plugin.Mutation) error) error {
	switch p.name {
	case ConfigProviderName:
		m := plugin.Mutation{Type: plugin.MutationFull}
		for _, sl := range p.e.static {
			if err := addLocation(&m, sl.loc, OriginBootstrap); err != nil {
				return err
			}
		}
		return emit(ctx, m)
	case DatabaseProviderName:
		// The list and its mutation stay in step with registrations
		// (AddLocation, DeleteLocation hold the same lock).
		p.e.locMu.Lock()
		defer p.e.locMu.Unlock()
		locs, err := p.e.store.LocationList(ctx)
		if err != nil {
			return err
		}
		m := plugin.Mutation{Type: plugin.MutationFull}
		for _, l := range locs {
			loc := catalog.LocationRef{Type: l.Type, Target: l.Target}
			if err := addLocation(&m, loc, loc.String()); err != nil {
				return err
			}
		}
		return emit(ctx, m)
	default:
		return fmt.Errorf("engine: no location provider named %q", p.name)
	}
}

// addLocation adds loc's Location entity, owned by its location key, to m.
func addLocation(m *plugin.Mutation, loc catalog.LocationRef, origin string) error {
	b, err := json.Marshal(locationDocument(loc, origin).Raw)
	if err != nil {
		return fmt.Errorf("engine: location %s: %w", loc, err)
	}
	m.Entities = append(m.Entities, b)
	m.LocationKeys = append(m.LocationKeys, loc.String())
	return nil
}

// emitOwn applies m as a mutation of the engine's own provider name,
// through the same adapter as the provider's other mutations.
func (e *Engine) emitOwn(ctx context.Context, name string, m plugin.Mutation) error {
	for _, p := range e.builtinProviders() {
		if p.Name() != name {
			continue
		}
		em, err := p.mutation(m)
		if err != nil {
			return err
		}
		return (&connection{e: e, name: name}).ApplyMutation(ctx, em)
	}
	return fmt.Errorf("engine: no location provider named %q", name)
}
