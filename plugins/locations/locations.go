// Package locations is the built-in plugin of the catalog's own entity
// providers: the static locations of the configuration (catalog.locations)
// and the locations registered through POST /api/catalog/locations. They
// implement plugin.EntityProvider like any plugin's provider and reach the
// catalog through the same adapter (engine.PluginProvider); the catalog
// engine builds them, because they read its configuration and its store,
// and this plugin lists them in the table of built-ins.
package locations

import (
	"context"
	"encoding/json"

	"github.com/atrium-portal/atrium/plugin"
)

// ID is the plugin's id.
const ID = "catalog-locations"

// Plugin offers the catalog engine's location providers.
type Plugin struct {
	providers []plugin.EntityProvider
}

var _ plugin.Plugin = (*Plugin)(nil)

// New returns the plugin of the given providers (the engine's
// LocationProviders).
func New(providers []plugin.EntityProvider) *Plugin { return &Plugin{providers: providers} }

func (p *Plugin) Info() plugin.Info {
	return plugin.Info{
		ID:          ID,
		Version:     plugin.APIVersion,
		APIVersions: ">=1.0.0 <2.0.0",
		Description: "The catalog's locations: the static ones of catalog.locations and the registered ones, read from files and URLs.",
		Permissions: []string{"catalog.location.read", "catalog.location.create", "catalog.location.delete"},
	}
}

func (p *Plugin) Provision(context.Context, plugin.Host, json.RawMessage) error { return nil }

func (p *Plugin) Validate(context.Context) error {
	if len(p.providers) == 0 {
		return plugin.Errorf(plugin.ErrInternal, "no location providers: the plugin was built without the catalog engine")
	}
	return nil
}

func (p *Plugin) Components() plugin.Components {
	return plugin.Components{Providers: p.providers}
}

func (p *Plugin) Cleanup(context.Context) error { return nil }
