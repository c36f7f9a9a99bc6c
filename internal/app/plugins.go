package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/atrium-portal/atrium/internal/audit"
	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/pluginhost/guard"
	"github.com/atrium-portal/atrium/internal/pluginhost/rpc"
	"github.com/atrium-portal/atrium/internal/scaffolder"
	"github.com/atrium-portal/atrium/internal/scaffolder/actions"
	"github.com/atrium-portal/atrium/internal/web"
	"github.com/atrium-portal/atrium/internal/web/ui"
	"github.com/atrium-portal/atrium/plugin"
	"github.com/atrium-portal/atrium/plugins"
)

// The kinds of plugins in PluginStatus.Kind.
const (
	PluginBuiltin  = "builtin"
	PluginExternal = "external"
)

// The states in PluginStatus.State for plugins this file loads; the
// plugin host (internal/pluginhost) reports richer states for external
// plugins it supervises.
const (
	PluginRunning  = "running"
	PluginDisabled = "disabled"
	PluginFailed   = "failed"
)

// PluginStatus is one plugin as loaded at start.
type PluginStatus struct {
	ID      string      `json:"id"`
	Version string      `json:"version"`
	Kind    string      `json:"kind"`
	State   string      `json:"state"`
	Error   string      `json:"error,omitempty"`
	Info    plugin.Info `json:"info"`
	// Unhealthy says why a plugin that runs is degraded: a goroutine of
	// its own (plugin.Host.Go) panicked. Empty when healthy.
	Unhealthy string `json:"unhealthy,omitempty"`
}

// loadedPlugin is a plugin in use and what it contributes.
type loadedPlugin struct {
	status PluginStatus
	p      plugin.Plugin
	comps  plugin.Components
	// What was wired, to unwire it when the plugin is removed: the
	// engine's names of its providers and processors, its action ids.
	providers  []string
	processors []string
	actions    []string
	// inputs are the input schemas of the wired actions, by id, to tell
	// an upgrade that changed one.
	inputs map[string]string
	// stopServices ends its services (nil until they run); services
	// counts those still running.
	stopServices context.CancelFunc
	services     sync.WaitGroup
	provisioned  bool
}

// pluginSet is every plugin of this Atrium. The built-ins and the
// external plugins present at start are wired before the engine and the
// server run; external plugins installed or removed later are wired and
// unwired while they run (addPlugin, removePlugin).
type pluginSet struct {
	// mu guards list and what readers (cards, subscribers, the URL
	// reader) look at in its plugins.
	mu   sync.RWMutex
	list []*loadedPlugin
	// wire serialises adding and removing plugins; it is held around mu.
	wire sync.Mutex
	// actions is the scaffolder's registry of actions; runCtx is the
	// context of Run once it started, under which services run.
	actions *scaffolder.Registry
	runCtx  context.Context
	// deps build the built-ins (again, when a secret of theirs rotates);
	// configs are plugins' configurations with rotated secrets, by id.
	deps    plugins.Deps
	configs map[string]json.RawMessage
	// unhealthy holds the reason of each plugin whose own goroutine
	// panicked, by id (under mu): it may happen before the plugin is in
	// list, during its Provision.
	unhealthy map[string]string
}

// find returns the plugin id; wire or mu is held.
func (s *pluginSet) find(id string) *loadedPlugin {
	for _, lp := range s.list {
		if lp.status.ID == id {
			return lp
		}
	}
	return nil
}

// actionOwner returns the plugin that wired action id; wire is held.
func (s *pluginSet) actionOwner(id string) string {
	for _, lp := range s.list {
		if slices.Contains(lp.actions, id) {
			return lp.status.ID
		}
	}
	return ""
}

// eventsRoute receives webhooks for plugins' event subscribers. It is
// public: the subscriber's Verify (a signature or a shared token) is the
// authentication, as a GitLab or GitHub webhook carries no Atrium login.
const eventsRoute = "POST /api/events/{plugin}/{path...}"

// Plugins lists the plugins: the built-ins of plugins.Builtins (also the
// disabled ones) and the external plugins added at start, sorted by id.
func (a *App) Plugins() []PluginStatus {
	a.pluginSet.mu.RLock()
	defer a.pluginSet.mu.RUnlock()
	out := make([]PluginStatus, 0, len(a.pluginSet.list))
	for _, lp := range a.pluginSet.list {
		st := lp.status
		st.Unhealthy = a.pluginSet.unhealthy[st.ID]
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// loadPlugins builds the enabled built-in plugins from the table and the
// plugins of Options.Plugins, checks each one's plugin-API range and
// configuration (plugins.<id>.config against Info.ConfigSchema), runs
// Provision and Validate, and wires their providers and processors into
// the engine. A configuration error stops Atrium; a plugin whose
// Provision or Validate fails is marked failed and left out, and the
// rest of Atrium runs.
func (a *App) loadPlugins(ctx context.Context, deps plugins.Deps, extra []plugin.Plugin) error {
	// The plugin host may wire a plugin that came up late meanwhile.
	a.pluginSet.wire.Lock()
	defer a.pluginSet.wire.Unlock()
	a.pluginSet.deps = deps
	known := map[string]bool{}
	var problems []string
	for _, b := range plugins.Builtins() {
		known[b.ID] = true
		pc := a.cfg.Plugins[b.ID]
		if pc.Enabled != nil && !*pc.Enabled && b.Required {
			problems = append(problems, fmt.Sprintf("plugins.%s.enabled: plugin %s is part of Atrium's core and cannot be disabled", b.ID, b.ID))
			continue
		}
		if pc.Enabled != nil && !*pc.Enabled {
			p := b.New(deps)
			a.pluginSet.mu.Lock()
			a.pluginSet.list = append(a.pluginSet.list, &loadedPlugin{status: PluginStatus{
				ID: b.ID, Version: p.Info().Version, Kind: PluginBuiltin, State: PluginDisabled, Info: p.Info(),
			}})
			a.pluginSet.mu.Unlock()
			continue
		}
		if err := a.addPlugin(ctx, PluginBuiltin, b.New(deps)); err != nil {
			problems = append(problems, err.Error())
		}
	}
	for _, p := range extra {
		known[p.Info().ID] = true
		if err := a.addPlugin(ctx, PluginExternal, p); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		return fault.New(fault.Invalid, "plugins: %s", strings.Join(problems, "; "))
	}
	// Services start with Run, under its context; so do those of plugins
	// installed before Run started. Plugins still loaded at Close are
	// cleaned up then (removePlugin leaves an external plugin to the host).
	a.background = append(a.background, func(ctx context.Context) error {
		a.pluginSet.wire.Lock()
		defer a.pluginSet.wire.Unlock()
		a.pluginSet.runCtx = ctx
		for _, lp := range a.pluginSet.list {
			a.startServices(lp)
		}
		return nil
	})
	a.cleanup = append(a.cleanup, a.cleanupPlugins)
	for id := range a.cfg.Plugins {
		if !known[id] {
			a.log.Warn("configuration: no built-in plugin has this id; it applies only to an external plugin of that id",
				"key", "plugins."+id, "known", slices.Sorted(maps.Keys(known)))
		}
	}
	return nil
}

// addPlugin checks, provisions and validates p and wires its components:
// providers and processors into the engine, actions into the scaffolder's
// registry (once it exists), services (once Run started); its cards and
// event subscribers are found through the plugin set. It is called at
// start and, for external plugins installed while Atrium runs, by the
// plugin host. The error is returned only for configuration problems
// (the operator's to fix); other failures mark the plugin failed, with
// what was wired of it unwired. The caller holds a.pluginSet.wire, so
// plugins are added and removed one at a time.
func (a *App) addPlugin(ctx context.Context, kind string, p plugin.Plugin) error {
	info := p.Info()
	st := PluginStatus{ID: info.ID, Version: info.Version, Kind: kind, Info: info}
	if lp := a.pluginSet.find(info.ID); lp != nil {
		return fmt.Errorf("plugin %s is loaded twice (%s and %s)", info.ID, lp.status.Kind, kind)
	}
	// A built-in that does not support this API is a bug, and stops
	// Atrium; an installed external plugin is left out, marked failed.
	apiErr := plugin.SupportsAPI(info)
	if apiErr != nil && kind == PluginBuiltin {
		return apiErr
	}
	pc := a.cfg.Plugins[info.ID]
	pc.Config = a.pluginConfig(info.ID)
	if err := plugins.ValidateConfig(info, pc.Config); err != nil {
		where := ""
		if pc.File != "" {
			where = fmt.Sprintf(" (%s:%d)", pc.File, pc.Line)
		}
		return fmt.Errorf("%s%s", fault.MessageOf(err), where)
	}
	lp := &loadedPlugin{status: st, p: p}
	// Readers see the plugin once it is complete, failed or running.
	defer func() {
		a.pluginSet.mu.Lock()
		a.pluginSet.list = append(a.pluginSet.list, lp)
		a.pluginSet.mu.Unlock()
	}()
	host := a.pluginHostFor(info.ID)
	fail := func(step string, err error) error {
		a.unwire(ctx, lp)
		lp.comps = plugin.Components{}
		lp.status.State = PluginFailed
		lp.status.Error = step + ": " + fault.MessageOf(rpc.Fault(info.ID, err))
		a.log.Error("plugin left out", "plugin", info.ID, "step", step, "err", err)
		return nil
	}
	if apiErr != nil {
		return fail("checking the plugin API version", apiErr)
	}
	if err := os.MkdirAll(host.DataDir, 0o700); err != nil {
		return fail("creating its data directory", err)
	}
	// An in-process plugin's panic in these calls fails the plugin only
	// (guard.Call), as an error would.
	if err := guard.Call(a.log, info.ID, "Provision", func() error { return p.Provision(ctx, host, pc.Config) }); err != nil {
		return fail("provision", err)
	}
	lp.provisioned = true
	registerPluginSecrets(a.secrets, p)
	if err := guard.Call(a.log, info.ID, "Validate", func() error { return p.Validate(ctx) }); err != nil {
		return fail("validate", err)
	}
	if err := guard.Call(a.log, info.ID, "Components", func() error { lp.comps = p.Components(); return nil }); err != nil {
		return fail("components", err)
	}
	if step, err := a.wireEngine(lp); err != nil {
		return fail(step, err)
	}
	if reg := a.pluginSet.actions; reg != nil {
		if err := a.wireActions(reg, lp, lp.comps.Actions); err != nil {
			return err
		}
	}
	lp.status.State = PluginRunning
	a.startServices(lp)
	return nil
}

// wireEngine adds lp's providers and processors to the engine and returns
// the step that failed. a.pluginSet.wire is held.
func (a *App) wireEngine(lp *loadedPlugin) (string, error) {
	id := lp.status.ID
	for _, prov := range lp.comps.Providers {
		pp := &engine.PluginProvider{PluginID: id, Provider: prov, Logger: a.log}
		if err := a.engine.AddProvider(pp); err != nil {
			return "adding entity provider " + prov.Name(), err
		}
		lp.providers = append(lp.providers, pp.Name())
	}
	for _, proc := range lp.comps.Processors {
		np := &namedProcessor{id: id, p: proc}
		if err := a.engine.AddProcessor(np); err != nil {
			return "adding processor " + proc.Name(), err
		}
		lp.processors = append(lp.processors, np.Name())
	}
	return "", nil
}

// pluginHostFor is what Atrium offers plugin id.
func (a *App) pluginHostFor(id string) plugin.Host {
	return plugin.Host{
		Logger:  a.log.With("plugin", id),
		BaseURL: a.cfg.Backend.BaseURL,
		DataDir: filepath.Join(a.cfg.Atrium.DataDir, "plugin-data", id),
		Spawn: func(name string, fn func()) {
			go func() {
				err := guard.Call(a.log, id, "goroutine "+name, func() error { fn(); return nil })
				if err != nil {
					a.pluginSet.mu.Lock()
					if a.pluginSet.unhealthy == nil {
						a.pluginSet.unhealthy = map[string]string{}
					}
					a.pluginSet.unhealthy[id] = err.Error()
					a.pluginSet.mu.Unlock()
				}
			}()
		},
	}
}

// pluginConfig is plugins.<id>.config with the current values of the
// secrets it references (reprovisionPlugin keeps them).
func (a *App) pluginConfig(id string) json.RawMessage {
	a.pluginSet.mu.RLock()
	defer a.pluginSet.mu.RUnlock()
	if c, ok := a.pluginSet.configs[id]; ok {
		return c
	}
	return a.cfg.Plugins[id].Config
}

// wireActions adds acts, actions of lp, to reg. An action whose id
// another plugin took first, or whose schema does not compile, is left out
// with the reason in lp's status; a built-in's is returned (a bug: Atrium
// stops). a.pluginSet.wire is held.
func (a *App) wireActions(reg *scaffolder.Registry, lp *loadedPlugin, acts []plugin.Action) error {
	for _, act := range acts {
		err := reg.Add(scaffolder.PluginAction(lp.status.ID, act))
		if err == nil {
			lp.actions = append(lp.actions, act.ID())
			if lp.inputs == nil {
				lp.inputs = map[string]string{}
			}
			lp.inputs[act.ID()] = string(inputSchema(act))
			continue
		}
		if first := a.pluginSet.actionOwner(act.ID()); first != "" {
			err = fault.New(fault.Conflict, "action %s is already offered by plugin %s", act.ID(), first)
		}
		if lp.status.Kind == PluginBuiltin {
			return fmt.Errorf("plugin %s: %w", lp.status.ID, err)
		}
		a.log.Error("plugin action left out", "plugin", lp.status.ID, "action", act.ID(), "err", err)
		lp.status.Error = strings.TrimPrefix(lp.status.Error+"; ", "; ") + fault.MessageOf(err)
	}
	return nil
}

// inputSchema is act's input schema.
func inputSchema(act plugin.Action) json.RawMessage {
	in, _ := act.Schema()
	return in
}

// startServices runs lp's services under the context of Run, once Run
// started and while lp runs; a.pluginSet.wire is held.
func (a *App) startServices(lp *loadedPlugin) {
	if a.pluginSet.runCtx == nil || lp.stopServices != nil || lp.status.State != PluginRunning {
		return
	}
	ctx, cancel := context.WithCancel(a.pluginSet.runCtx)
	lp.stopServices = cancel
	for _, svc := range lp.comps.Services {
		lp.services.Go(func() { runService(ctx, a, lp.status.ID, svc) })
	}
}

// unwire takes lp's components out of Atrium: its actions from the
// registry (steps running keep theirs), its processors and providers from
// the engine (waiting, within ctx, for the providers to stop), and stops
// its services. a.pluginSet.wire is held.
func (a *App) unwire(ctx context.Context, lp *loadedPlugin) {
	for _, id := range lp.actions {
		a.pluginSet.actions.Remove(id)
	}
	lp.actions = nil
	for _, name := range lp.processors {
		if err := a.engine.RemoveProcessor(name); err != nil {
			a.log.Warn("removing a plugin's processor", "plugin", lp.status.ID, "err", err)
		}
	}
	lp.processors = nil
	for _, name := range lp.providers {
		if err := a.engine.RemoveProvider(ctx, name); err != nil {
			a.log.Warn("removing a plugin's entity provider", "plugin", lp.status.ID, "err", err)
		}
	}
	lp.providers = nil
	if lp.stopServices != nil {
		lp.stopServices()
		done := make(chan struct{})
		go func() { lp.services.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			a.log.Warn("a plugin's services did not stop in time", "plugin", lp.status.ID)
		}
		lp.stopServices = nil
	}
}

// removePlugin unwires the external plugin id and forgets it: its actions
// leave the registry, its providers and processors the engine (the
// entities it provided stay in the catalog), its cards and event
// subscribers the portal. The plugin host stops the plugin afterwards.
// Removing a plugin that is not loaded does nothing. The caller holds
// a.pluginSet.wire.
func (a *App) removePlugin(ctx context.Context, id string) error {
	lp := a.pluginSet.find(id)
	if lp == nil {
		return nil
	}
	if lp.status.Kind != PluginExternal {
		return fault.New(fault.Invalid, "plugin %s is built in; disable it in the configuration (plugins.%s.enabled: false) instead", id, id)
	}
	// Unwired before it leaves the list: whoever sees it gone from
	// /api/plugins finds its actions, processors and providers gone too.
	a.unwire(ctx, lp)
	a.pluginSet.mu.Lock()
	a.pluginSet.list = slices.DeleteFunc(a.pluginSet.list, func(x *loadedPlugin) bool { return x == lp })
	a.pluginSet.mu.Unlock()
	a.log.Info("plugin unwired", "plugin", id, "version", lp.status.Version)
	return nil
}

// cleanupPlugins stops the services of the plugins still loaded and runs
// their Cleanup, at Close.
func (a *App) cleanupPlugins() error {
	a.pluginSet.wire.Lock()
	defer a.pluginSet.wire.Unlock()
	for _, lp := range a.pluginSet.list {
		if lp.stopServices != nil {
			lp.stopServices()
		}
		if !lp.provisioned {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := guard.Call(a.log, lp.status.ID, "Cleanup", func() error { return lp.p.Cleanup(ctx) }); err != nil {
			a.log.Warn("plugin cleanup", "plugin", lp.status.ID, "err", err)
		}
		cancel()
	}
	return nil
}

// namedProcessor names a plugin's processor after its plugin, so two
// plugins may each have a processor of the same name.
type namedProcessor struct {
	id string
	p  plugin.Processor
}

func (n *namedProcessor) Name() string { return n.id + ":" + n.p.Name() }

func (n *namedProcessor) Process(ctx context.Context, entity json.RawMessage) (plugin.ProcessResult, error) {
	res, err := n.p.Process(ctx, entity)
	return res, rpc.Fault(n.id, err)
}

// runService runs a plugin's service until ctx is done, again after a
// backoff (1s doubling to 1m) each time it returns early or panics (on
// this goroutine of its own, a built-in's panic would end Atrium).
func runService(ctx context.Context, a *App, id string, svc plugin.Service) {
	backoff := time.Second
	for {
		started := time.Now()
		err := guard.Call(a.log, id, "service "+svc.Name()+": Run", func() error { return svc.Run(ctx) })
		if ctx.Err() != nil {
			return
		}
		if time.Since(started) > time.Minute {
			backoff = time.Second
		}
		a.log.Error("plugin service stopped; running it again later", "plugin", id, "service", svc.Name(), "err", err, "retryIn", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, time.Minute)
	}
}

// pluginCards lists the entity cards of running plugins (ui.Params.Cards).
func (a *App) pluginCards() []ui.PluginCard {
	a.pluginSet.mu.RLock()
	defer a.pluginSet.mu.RUnlock()
	var out []ui.PluginCard
	for _, lp := range a.pluginSet.list {
		for _, c := range lp.comps.Cards {
			out = append(out, ui.PluginCard{PluginID: lp.status.ID, Card: c})
		}
	}
	return out
}

// pluginActions is how scaffolder() hands its built-in actions' services
// to the plugins: it loads them and returns the registry of every
// plugin's actions. An action whose id another plugin took first, or whose
// schema does not compile, is left out with the reason in its plugin's
// status (a built-in's stops Atrium: that is a bug).
// The registry is shared with plugins installed later (addPlugin).
func (a *App) pluginActions(ctx context.Context, d actions.Deps) (*scaffolder.Registry, error) {
	reg, err := scaffolder.NewRegistry()
	if err != nil {
		return nil, err
	}
	a.pluginSet.wire.Lock()
	a.pluginSet.actions = reg
	a.pluginSet.wire.Unlock()
	if err := a.loadPlugins(ctx, plugins.Deps{Actions: d, Demo: a.cfg.Atrium.Demo, Locations: a.engine.LocationProviders()}, a.extraPlugins); err != nil {
		return nil, err
	}
	return reg, nil
}

// pluginRoutes registers the events route.
func (a *App) pluginRoutes(mux web.Mux) {
	mux.HandleFunc(eventsRoute, a.pluginEvent)
	a.simulatorRoutes(mux)
}

// pluginEvent delivers a webhook to a plugin's event subscriber: Verify
// (401 when refused), then Handle. With one subscriber the whole path is
// the event's; with several, the first path segment names the subscriber.
func (a *App) pluginEvent(w http.ResponseWriter, r *http.Request) {
	id, path := r.PathValue("plugin"), r.PathValue("path")
	sub, err := a.subscriberFor(id, &path)
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	limit := a.cfg.Atrium.Limits.MaxRequestBytes
	if limit <= 0 {
		limit = 1 << 20
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			web.WriteError(w, r, fault.New(fault.TooLarge, "the event body is over %d bytes (atrium.limits.maxRequestBytes)", limit))
			return
		}
		web.WriteError(w, r, fault.Wrap(fault.Invalid, err, "reading the event body"))
		return
	}
	headers := r.Header.Clone()
	headers.Del("Cookie")
	ev := plugin.Event{Path: path, Headers: headers, Body: body}
	resource := "plugin:" + id + "/" + sub.Name()
	details := map[string]any{"path": path, "bytes": len(body)}
	record := func(outcome audit.Outcome, status int, msg string) {
		if msg != "" {
			details["error"] = msg
		}
		if err := audit.Record(r.Context(), audit.Event{Action: "plugin.event", Resource: resource, Outcome: outcome, Status: status, Details: details}); err != nil && !errors.Is(err, audit.ErrNoLog) {
			a.log.Error("auditing a plugin event", "err", err)
		}
	}
	if err := sub.Verify(r.Context(), ev); err != nil {
		ferr := rpc.Fault(id, err)
		if !fault.Is(ferr, fault.Unavailable) {
			ferr = fault.Wrap(fault.Unauthorized, err, "plugin %s refused the event: %s", id, pluginMessage(err))
		}
		record(audit.Denied, web.StatusOf(fault.KindOf(ferr)), fault.MessageOf(ferr))
		web.WriteError(w, r, ferr)
		return
	}
	if err := sub.Handle(r.Context(), ev); err != nil {
		ferr := rpc.Fault(id, err)
		record(audit.Failed, web.StatusOf(fault.KindOf(ferr)), fault.MessageOf(ferr))
		web.WriteError(w, r, ferr)
		return
	}
	record(audit.Succeeded, http.StatusOK, "")
	web.WriteJSON(w, http.StatusOK, map[string]any{"plugin": id, "subscriber": sub.Name(), "status": "handled"})
}

// pluginMessage is the plugin's own message of err.
func pluginMessage(err error) string {
	var pe *plugin.Error
	if errors.As(err, &pe) {
		return pe.Message
	}
	return fault.MessageOf(rpc.Fault("", err))
}

// subscriberFor finds the subscriber of plugin id for path (trimming the
// subscriber's name from path when the plugin has several).
func (a *App) subscriberFor(id string, path *string) (plugin.EventSubscriber, error) {
	a.pluginSet.mu.RLock()
	defer a.pluginSet.mu.RUnlock()
	var receivers []string
	for _, lp := range a.pluginSet.list {
		if len(lp.comps.Subscribers) > 0 {
			receivers = append(receivers, lp.status.ID)
		}
		if lp.status.ID != id || len(lp.comps.Subscribers) == 0 {
			continue
		}
		subs := lp.comps.Subscribers
		if len(subs) == 1 {
			return subs[0], nil
		}
		first, rest, _ := strings.Cut(*path, "/")
		var names []string
		for _, s := range subs {
			if s.Name() == first {
				*path = rest
				return s, nil
			}
			names = append(names, s.Name())
		}
		return nil, fault.New(fault.NotFound, "plugin %s has several event subscribers; start the path with one of %v", id, names)
	}
	sort.Strings(receivers)
	return nil, fault.New(fault.NotFound, "no running plugin %q receives events (plugins with event subscribers: %v)", id, receivers)
}
