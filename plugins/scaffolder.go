package plugins

import (
	"context"
	"encoding/json"

	"github.com/atrium-portal/atrium/internal/scaffolder"
	"github.com/atrium-portal/atrium/internal/scaffolder/actions"
	"github.com/atrium-portal/atrium/plugin"
)

// ScaffolderBuiltinID is the id of the plugin offering the scaffolder's
// built-in actions (fetch:*, fs:*, debug:*, catalog:*, publish:git).
const ScaffolderBuiltinID = "scaffolder-builtin"

// ScaffolderBuiltin offers the scaffolder's built-in actions as plugin
// actions; the scaffolder registers them like any plugin's.
type ScaffolderBuiltin struct {
	deps    actions.Deps
	actions []plugin.Action
}

var _ plugin.Plugin = (*ScaffolderBuiltin)(nil)

// NewScaffolderBuiltin returns the plugin; Provision builds the actions.
func NewScaffolderBuiltin(d actions.Deps) *ScaffolderBuiltin { return &ScaffolderBuiltin{deps: d} }

func (s *ScaffolderBuiltin) Info() plugin.Info {
	return plugin.Info{
		ID:          ScaffolderBuiltinID,
		Version:     plugin.APIVersion,
		APIVersions: ">=1.0.0 <2.0.0",
		Description: "The scaffolder's built-in actions: fetch, fs, debug, catalog and publish:git.",
		Permissions: []string{"catalog.entity.create", "catalog.location.create"},
	}
}

func (s *ScaffolderBuiltin) Provision(context.Context, plugin.Host, json.RawMessage) error {
	s.actions = nil
	for _, a := range actions.Builtins(s.deps) {
		s.actions = append(s.actions, scaffolder.AsPluginAction(a))
	}
	return nil
}

func (s *ScaffolderBuiltin) Validate(context.Context) error {
	if len(s.actions) == 0 {
		return plugin.Errorf(plugin.ErrInternal, "no actions: Provision was not called")
	}
	return nil
}

func (s *ScaffolderBuiltin) Components() plugin.Components {
	return plugin.Components{Actions: s.actions}
}

func (s *ScaffolderBuiltin) Cleanup(context.Context) error { return nil }
