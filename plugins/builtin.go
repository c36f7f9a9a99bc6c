// Package plugins holds Atrium's built-in plugins and the one explicit
// table of them. A built-in is a named factory: no init() registration,
// no global registry. internal/app builds the enabled ones from the
// table, then runs each through the same lifecycle as an external plugin:
// Provision → Validate → components in use → Cleanup.
package plugins

import (
	"github.com/atrium-portal/atrium/internal/scaffolder/actions"
	"github.com/atrium-portal/atrium/plugin"
	"github.com/atrium-portal/atrium/plugins/awx"
	"github.com/atrium-portal/atrium/plugins/azure"
	"github.com/atrium-portal/atrium/plugins/gitlab"
	"github.com/atrium-portal/atrium/plugins/locations"
	"github.com/atrium-portal/atrium/plugins/openshift"
	"github.com/atrium-portal/atrium/plugins/terraform"
)

// Deps are the services of Atrium that built-in plugins may use. External
// plugins get only plugin.Host; built-ins are trusted with more.
type Deps struct {
	// Actions are what the scaffolder's built-in actions need.
	Actions actions.Deps
	// Demo is atrium.demo: plugins without a configured endpoint use
	// their simulator.
	Demo bool
	// Locations are the catalog engine's own entity providers (the static
	// and the registered locations), offered by the catalog-locations
	// plugin.
	Locations []plugin.EntityProvider
}

// Builtin is one entry of the table.
type Builtin struct {
	// ID is the plugin's id, equal to its Info().ID.
	ID string
	// New builds the plugin; it must not start anything (Provision does).
	New func(Deps) plugin.Plugin
	// Required built-ins are part of Atrium's core and cannot be disabled
	// (plugins.<id>.enabled: false is refused).
	Required bool
}

// Builtins returns the table of built-in plugins, in start order.
func Builtins() []Builtin {
	return []Builtin{
		{ID: locations.ID, New: func(d Deps) plugin.Plugin { return locations.New(d.Locations) }, Required: true},
		{ID: ScaffolderBuiltinID, New: func(d Deps) plugin.Plugin { return NewScaffolderBuiltin(d.Actions) }},
		{ID: gitlab.ID, New: func(d Deps) plugin.Plugin { return gitlab.New(gitlab.Options{Demo: d.Demo}) }},
		{ID: awx.ID, New: func(d Deps) plugin.Plugin { return awx.New(awx.Options{Demo: d.Demo}) }},
		{ID: terraform.ID, New: func(d Deps) plugin.Plugin { return terraform.New(terraform.Options{Demo: d.Demo}) }},
		{ID: openshift.ID, New: func(d Deps) plugin.Plugin { return openshift.New(openshift.Options{Demo: d.Demo}) }},
		{ID: azure.ID, New: func(d Deps) plugin.Plugin { return azure.New(azure.Options{Demo: d.Demo}) }},
	}
}
