// Package plugin is Atrium's public plugin SDK: the extension points a
// plugin implements, the same whether it is compiled into Atrium (a
// built-in, listed in plugins/builtin.go) or runs as a separate executable
// that Atrium starts and talks to over gRPC (see Serve).
//
// A plugin is a value implementing Plugin. Its components (actions, entity
// providers, processors, entity cards, event subscribers, services) are
// returned by Components after Provision. The host never sees whether a
// Plugin is in-process or a gRPC client: both implement this package's
// interfaces.
//
// Lifecycle: Provision (configuration validated against Info.ConfigSchema
// by the host first) → Validate → components in use → Cleanup.
package plugin

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/atrium-portal/atrium/internal/pluginhost/guard"
)

// APIVersion is the version of this SDK's contract (semantic versioning).
// A plugin declares the range of API versions it supports in
// Info.APIVersions; the host refuses a plugin whose range excludes it.
const APIVersion = "1.0.0"

// Info describes a plugin.
type Info struct {
	// ID is unique and stable: lower-case letters, digits and dashes
	// ("hello", "gitlab").
	ID string `json:"id"`
	// Version is the plugin's own semantic version ("1.2.0").
	Version string `json:"version"`
	// APIVersions is the semver constraint of plugin-API versions the
	// plugin supports (">=1.0.0 <2.0.0").
	APIVersions string `json:"apiVersions"`
	// Description is one sentence for lists.
	Description string `json:"description,omitempty"`
	// ConfigSchema is the JSON Schema (draft 2020-12) of the plugin's
	// configuration (plugins.<id>.config in app-config); nil accepts only
	// an empty configuration.
	ConfigSchema json.RawMessage `json:"configSchema,omitempty"`
	// Permissions are the permissions the plugin's actions need
	// ("catalog.entity.read", "scaffolder.action.execute", …).
	Permissions []string `json:"permissions,omitempty"`
}

// Plugin is what every plugin implements.
type Plugin interface {
	// Info describes the plugin; it may be called before Provision.
	Info() Info
	// Provision hands the plugin its configuration (already validated
	// against Info.ConfigSchema) and the host's services.
	Provision(ctx context.Context, host Host, config json.RawMessage) error
	// Validate checks that the provisioned plugin can work (credentials
	// present, endpoints well-formed); an error stops the plugin from
	// being used and is shown to the operator.
	Validate(ctx context.Context) error
	// Components returns what the plugin contributes.
	Components() Components
	// Cleanup releases everything Provision acquired.
	Cleanup(ctx context.Context) error
}

// Components are a plugin's extension points; any field may be empty.
type Components struct {
	Actions     []Action
	Providers   []EntityProvider
	Processors  []Processor
	Cards       []EntityCard
	Subscribers []EventSubscriber
	Services    []Service
}

// Host is what Atrium offers a plugin.
type Host struct {
	// Logger writes to Atrium's log, tagged with the plugin's id.
	Logger *slog.Logger
	// BaseURL is Atrium's backend.baseUrl.
	BaseURL string
	// DataDir is a directory private to the plugin, kept across restarts.
	DataDir string
	// Spawn is how Go starts a goroutine; Atrium sets it (plugins call
	// Go). It recovers a panic, logs it with the plugin's id and marks
	// the plugin unhealthy.
	Spawn func(name string, fn func())
}

// Go runs fn on a goroutine of its own. A plugin should start every
// goroutine of its own here (a watch, a sweeper, a timer's callback):
// Atrium guards the calls it makes into a plugin, but not goroutines the
// plugin starts, where a panic would end the process, Atrium's own for a
// built-in. Here a panic ends only fn: Atrium logs it, with its value and
// stack, as the plugin's and name's, and shows the plugin degraded with
// the reason. With a Host without Spawn (a test's), the panic is
// recovered and logged on Logger.
func (h Host) Go(name string, fn func()) {
	if h.Spawn != nil {
		h.Spawn(name, fn)
		return
	}
	go func() { _ = guard.Call(h.Logger, "", name, func() error { fn(); return nil }) }()
}
