package app

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/atrium-portal/atrium/internal/auth"
	"github.com/atrium-portal/atrium/internal/authz"
	"github.com/atrium-portal/atrium/internal/engine"
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
		Config: a.pluginConfig, PluginHost: a.pluginHostFor,
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
	st := s.Stats()
	if st.State != pluginhost.StateRunning && st.State != pluginhost.StateDegraded {
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
	if st.Wired {
		// An upgrade (or a restart) may have changed what the plugin
		// offers.
		if lp := a.pluginSet.find(id); lp != nil && lp.p == plugin.Plugin(s) && lp.status.State == PluginRunning {
			a.updateComponents(ctx, lp, s.Components())
		}
		return
	}
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

// updateComponents brings the wired components of the running plugin lp
// in line with next, what its running version offers: after an upgrade
// the components only the new version declares are wired and those it no
// longer declares unwired. Components of both versions stay wired
// throughout (their supervisor's wrappers follow the new process), so no
// request finds them missing; an action whose input schema changed is
// registered again with the new one. a.pluginSet.wire is held.
func (a *App) updateComponents(ctx context.Context, lp *loadedPlugin, next plugin.Components) {
	id := lp.status.ID
	if info := lp.p.Info(); info.Version != lp.status.Version {
		a.pluginSet.mu.Lock()
		lp.status.Version, lp.status.Info = info.Version, info
		a.pluginSet.mu.Unlock()
	}
	changed := false
	// Actions.
	want := map[string]plugin.Action{}
	for _, act := range next.Actions {
		want[act.ID()] = act
	}
	var kept []string
	for _, aid := range lp.actions {
		act, ok := want[aid]
		if ok && string(inputSchema(act)) == lp.inputs[aid] {
			kept = append(kept, aid)
			continue
		}
		a.pluginSet.actions.Remove(aid)
		delete(lp.inputs, aid)
		changed = true
	}
	lp.actions = kept
	var added []plugin.Action
	for _, act := range next.Actions {
		if !slices.Contains(lp.actions, act.ID()) {
			added = append(added, act)
		}
	}
	if len(added) > 0 {
		changed = true
		// An external plugin's action that cannot be added is left out
		// with the reason in its status; the error is a built-in's only.
		_ = a.wireActions(a.pluginSet.actions, lp, added)
	}
	// Providers and processors, by the engine's names.
	wantProv := map[string]plugin.EntityProvider{}
	for _, prov := range next.Providers {
		wantProv[(&engine.PluginProvider{PluginID: id, Provider: prov}).Name()] = prov
	}
	lp.providers = slices.DeleteFunc(lp.providers, func(name string) bool {
		if _, ok := wantProv[name]; ok {
			return false
		}
		changed = true
		if err := a.engine.RemoveProvider(ctx, name); err != nil {
			a.log.Warn("removing a plugin's entity provider", "plugin", id, "err", err)
		}
		return true
	})
	for name, prov := range wantProv {
		if slices.Contains(lp.providers, name) {
			continue
		}
		changed = true
		if err := a.engine.AddProvider(&engine.PluginProvider{PluginID: id, Provider: prov, Logger: a.log}); err != nil {
			a.log.Error("adding a plugin's entity provider", "plugin", id, "provider", name, "err", err)
			continue
		}
		lp.providers = append(lp.providers, name)
	}
	wantProc := map[string]plugin.Processor{}
	for _, proc := range next.Processors {
		wantProc[(&namedProcessor{id: id, p: proc}).Name()] = proc
	}
	lp.processors = slices.DeleteFunc(lp.processors, func(name string) bool {
		if _, ok := wantProc[name]; ok {
			return false
		}
		changed = true
		if err := a.engine.RemoveProcessor(name); err != nil {
			a.log.Warn("removing a plugin's processor", "plugin", id, "err", err)
		}
		return true
	})
	for name, proc := range wantProc {
		if slices.Contains(lp.processors, name) {
			continue
		}
		changed = true
		if err := a.engine.AddProcessor(&namedProcessor{id: id, p: proc}); err != nil {
			a.log.Error("adding a plugin's processor", "plugin", id, "processor", name, "err", err)
			continue
		}
		lp.processors = append(lp.processors, name)
	}
	// Services run again when their set changed.
	restart := !sameNames(lp.comps.Services, next.Services, plugin.Service.Name)
	changed = changed || restart ||
		!sameNames(lp.comps.Cards, next.Cards, plugin.EntityCard.ID) ||
		!sameNames(lp.comps.Subscribers, next.Subscribers, plugin.EventSubscriber.Name)
	if !changed {
		return
	}
	if restart && lp.stopServices != nil {
		lp.stopServices()
		lp.services.Wait()
		lp.stopServices = nil
	}
	// Cards and subscribers are looked up through the plugin set.
	a.pluginSet.mu.Lock()
	lp.comps = next
	a.pluginSet.mu.Unlock()
	a.startServices(lp)
	a.log.Info("plugin components rewired after a change of version", "plugin", id, "version", lp.p.Info().Version,
		"actions", lp.actions, "cards", len(next.Cards))
}

// sameNames reports whether a and b hold components of the same names.
func sameNames[T any](a, b []T, name func(T) string) bool {
	if len(a) != len(b) {
		return false
	}
	names := map[string]bool{}
	for _, x := range a {
		names[name(x)] = true
	}
	for _, x := range b {
		if !names[name(x)] {
			return false
		}
	}
	return true
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
		case PluginRunning:
			if p.Unhealthy != "" {
				st.State, st.LastError = pluginhost.StateDegraded, p.Unhealthy
			}
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
