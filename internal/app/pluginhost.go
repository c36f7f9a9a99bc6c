package app

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"

	"github.com/atrium-portal/atrium/internal/auth"
	"github.com/atrium-portal/atrium/internal/authz"
	"github.com/atrium-portal/atrium/internal/pluginhost"
	"github.com/atrium-portal/atrium/internal/web"
	"github.com/atrium-portal/atrium/internal/web/ui"
	"github.com/atrium-portal/atrium/plugin"
)

// startPluginHost builds the host of external plugins: it starts those
// installed in atrium.pluginHost.directory now (so that they are wired like
// built-ins), watches the directory while Atrium runs, so that `atrium
// plugin install|upgrade|remove` takes effect without a restart, and keeps
// them healthy (restarts, memory budget).
func (a *App) startPluginHost(ctx context.Context) error {
	c := a.cfg.Atrium.PluginHost
	set, err := pluginhost.FromConfig(c)
	if err != nil {
		return err
	}
	h := pluginhost.NewHost(pluginhost.HostOptions{
		Store: set.Store, Launcher: pluginhost.RPCLauncher{}, Limits: set.Limits, Overrides: set.Overrides,
		Config: func(id string) json.RawMessage { return a.cfg.Plugins[id].Config },
		PluginHost: func(id string) plugin.Host {
			return plugin.Host{Logger: a.log.With("plugin", id), BaseURL: a.cfg.Backend.BaseURL,
				DataDir: filepath.Join(a.cfg.Atrium.DataDir, "plugin-data", id)}
		},
		Registry: set.Registry, Fetcher: set.Fetcher, UnmaintainedAfter: c.UnmaintainedAfter,
		WatchInterval: c.WatchInterval, HealthInterval: c.HealthInterval,
		Audit: a.audit, Logger: a.log, Builtins: a.builtinStats,
		OnChange: func(id string, s *pluginhost.Supervisor) {
			if s != nil && !s.Stats().Wired {
				a.log.Warn("plugin installed while Atrium runs: it runs and is supervised; its components are wired into the catalog and the scaffolder at the next start", "plugin", id)
			}
		},
	})
	h.Load(ctx)
	// The supervisors of the plugins that started stand in for them:
	// loadPlugins wires their components like a built-in's, and the
	// components follow restarts and upgrades. One that did not start has
	// no Info (configuration schema, components) to wire yet; it is
	// retried with backoff and wired at the next start.
	for _, s := range h.Plugins() {
		if st := s.Stats().State; st == pluginhost.StateRunning || st == pluginhost.StateDegraded {
			a.extraPlugins = append(a.extraPlugins, s)
			s.MarkWired()
		}
	}
	a.pluginHost = h
	a.cleanup = append(a.cleanup, func() error { h.Stop(); return nil })
	a.background = append(a.background, h.Run)
	return nil
}

// builtinStats lists the built-in plugins for the plugins page.
func (a *App) builtinStats() []pluginhost.Stats {
	var out []pluginhost.Stats
	for _, p := range a.Plugins() {
		if p.Kind != PluginBuiltin {
			continue
		}
		st := pluginhost.Stats{ID: p.ID, Version: p.Version, Description: p.Info.Description, Kind: "builtin", State: pluginhost.StateRunning}
		switch p.State {
		case PluginDisabled:
			st.State = pluginhost.StateDisabled
		case PluginFailed:
			st.State, st.LastError = pluginhost.StateCrashed, p.Error
		}
		out = append(out, st)
	}
	return out
}

// PluginHost returns the host of external plugins (nil with NoServer).
func (a *App) PluginHost() *pluginhost.Host { return a.pluginHost }

// pluginHostRoutes registers GET /api/plugins, POST /api/plugins/{id}/restart
// and the /settings/plugins page, framed by the portal's layout. It also
// adds the plugins' series to /metrics (the registry exists by then).
func (a *App) pluginHostRoutes(portal *ui.UI) func(web.Mux) {
	if a.metrics != nil {
		if err := a.metrics.Register(a.pluginHost.Collector()); err != nil {
			a.log.Error("metrics: the plugin host's series", "error", err.Error())
		}
	}
	az := policyAuthorizer{a.authz}
	api := &pluginhost.API{Host: a.pluginHost, Authorizer: az}
	page := &pluginhost.Page{
		Host: a.pluginHost, Authorizer: az,
		Render: func(w http.ResponseWriter, r *http.Request, v pluginhost.PageView) {
			portal.Render(w, r, ui.View{Title: v.Title, Section: "settings", Body: v.Body, Status: v.Status})
		},
	}
	return func(mux web.Mux) {
		api.Register(mux)
		page.Register(mux)
	}
}

// policyAuthorizer asks the permission policy about the caller in ctx.
type policyAuthorizer struct{ az *authz.Authorizer }

func (p policyAuthorizer) Authorize(ctx context.Context, perm string) (bool, error) {
	d, err := p.az.Authorize(ctx, auth.PrincipalFrom(ctx), perm, nil)
	if err != nil {
		return false, err
	}
	return d.Result == authz.Allow, nil
}
