package app

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"time"

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
// plugin install|upgrade|remove` takes effect without a restart — a new
// plugin is wired once it runs, a removed one unwired before it stops —
// and keeps them healthy (restarts, memory budget).
func (a *App) startPluginHost(ctx context.Context) error {
	c := a.cfg.Atrium.PluginHost
	set, err := pluginhost.FromConfig(c)
	if err != nil {
		return err
	}
	var h *pluginhost.Host
	h = pluginhost.NewHost(pluginhost.HostOptions{
		Store: set.Store, Launcher: pluginhost.RPCLauncher{}, Limits: set.Limits, Overrides: set.Overrides,
		Config: func(id string) json.RawMessage { return a.cfg.Plugins[id].Config },
		PluginHost: func(id string) plugin.Host {
			return plugin.Host{Logger: a.log.With("plugin", id), BaseURL: a.cfg.Backend.BaseURL,
				DataDir: filepath.Join(a.cfg.Atrium.DataDir, "plugin-data", id)}
		},
		Registry: set.Registry, Fetcher: set.Fetcher, UnmaintainedAfter: c.UnmaintainedAfter,
		WatchInterval: c.WatchInterval, HealthInterval: c.HealthInterval,
		Audit: a.audit, Logger: a.log, Builtins: a.builtinStats,
		// The host calls these from its own goroutines, which start after
		// h is set.
		OnChange: func(id string, s *pluginhost.Supervisor) { a.wireExternal(h, id, s) },
		OnRemove: func(ctx context.Context, id string, s *pluginhost.Supervisor) {
			a.pluginSet.wire.Lock()
			defer a.pluginSet.wire.Unlock()
			if err := a.removePlugin(ctx, id); err != nil {
				a.log.Error("unwiring a removed plugin", "plugin", id, "err", err)
			}
			s.MarkUnwired()
		},
	})
	h.Load(ctx)
	// The supervisors of the plugins that started stand in for them:
	// loadPlugins wires their components like a built-in's, and the
	// components follow restarts and upgrades. One that did not start has
	// no Info (configuration schema, components) to wire yet; it is
	// retried with backoff and wired by wireExternal once it runs.
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

// wireExternal wires the components of an external plugin that runs and
// is not wired yet: one installed while Atrium runs, installed again after
// a removal, or that failed to start at first. The plugin host calls it
// after each start, upgrade or removal and from its health checks.
func (a *App) wireExternal(h *pluginhost.Host, id string, s *pluginhost.Supervisor) {
	if s == nil {
		return
	}
	if st := s.Stats(); st.Wired || st.State != pluginhost.StateRunning && st.State != pluginhost.StateDegraded {
		return
	}
	a.pluginSet.wire.Lock()
	defer a.pluginSet.wire.Unlock()
	// Wiring needs the scaffolder's registry: until New built it, the
	// plugin is wired as one present at start. A plugin removed since is
	// left alone (its removal unwires under the same lock).
	if a.pluginSet.actions == nil {
		return
	}
	if cur, ok := h.Plugin(id); !ok || cur != s {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if stale := a.pluginSet.find(id); stale != nil {
		if stale.status.State == PluginRunning && stale.p == plugin.Plugin(s) {
			s.MarkWired()
			return
		}
		// A failed earlier attempt: try again from scratch.
		if err := a.removePlugin(ctx, id); err != nil {
			a.log.Error("unwiring a plugin to wire it again", "plugin", id, "err", err)
			return
		}
	}
	// The health checks try again every healthInterval; an error is
	// logged when it changes.
	failed := func(msg string) {
		if s.Stats().WireError != msg {
			a.log.Error("wiring a plugin installed while Atrium runs", "plugin", id, "err", msg)
		}
		s.SetWireError(msg)
	}
	if err := a.addPlugin(ctx, PluginExternal, s); err != nil {
		failed(err.Error())
		return
	}
	lp := a.pluginSet.find(id)
	if lp == nil {
		return
	}
	if lp.status.State != PluginRunning {
		failed(lp.status.Error)
		return
	}
	s.SetWireError(lp.status.Error)
	s.MarkWired()
	a.log.Info("plugin wired while Atrium runs", "plugin", id, "version", s.Stats().Version)
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
