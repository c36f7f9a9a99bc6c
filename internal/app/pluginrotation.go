package app

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/atrium-portal/atrium/internal/audit"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/pluginhost"
	"github.com/atrium-portal/atrium/internal/pluginhost/guard"
	"github.com/atrium-portal/atrium/internal/pluginhost/rpc"
	"github.com/atrium-portal/atrium/internal/secrets"
	"github.com/atrium-portal/atrium/plugin"
	"github.com/atrium-portal/atrium/plugins"
)

// reprovisionPlugin hands a rotated secret to the plugin whose
// configuration references it (r.Key is plugins.<id>.config…): its
// configuration is re-resolved and the running plugin provisioned again
// with it, without restarting Atrium. A built-in is built afresh from the
// table, provisioned and validated, and takes the old one's place (which
// is cleaned up after); an external plugin is swapped for a fresh process
// by its supervisor, which lets calls in flight finish. If the new one
// fails, the old one keeps running. Either way the outcome is audited as
// plugin.reprovisioned, with the plugin and the reference, never a value.
func (a *App) reprovisionPlugin(r secrets.Ref, old, value string) {
	rest, ok := strings.CutPrefix(r.Key, "plugins.")
	if !ok {
		return
	}
	id, _, _ := strings.Cut(rest, ".")
	a.pluginSet.wire.Lock()
	defer a.pluginSet.wire.Unlock()
	cfg, changed := rotateJSON(a.pluginConfig(id), old, value)
	if !changed {
		return
	}
	a.pluginSet.mu.Lock()
	if a.pluginSet.configs == nil {
		a.pluginSet.configs = map[string]json.RawMessage{}
	}
	a.pluginSet.configs[id] = cfg
	a.pluginSet.mu.Unlock()
	lp := a.pluginSet.find(id)
	if lp == nil || lp.status.State != PluginRunning {
		// It gets the new configuration when it starts.
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := a.reprovision(ctx, lp, cfg)
	ev := audit.Event{
		Actor:    audit.Actor{Ref: "service:atrium-secrets", Type: "service", Via: "secret refresh"},
		Action:   "plugin.reprovisioned",
		Resource: "plugin:" + id,
		Outcome:  audit.Succeeded,
		Details:  map[string]any{"key": r.Key, "ref": r.Kind + ":" + r.Ref, "kind": lp.status.Kind},
	}
	if err != nil {
		ev.Outcome = audit.Failed
		ev.Details["error"] = fault.MessageOf(rpc.Fault(id, err))
		a.log.Error("re-provisioning a plugin with a rotated secret failed; the plugin keeps the old value", "plugin", id, "key", r.Key, "err", err)
	} else {
		a.log.Info("plugin re-provisioned with a rotated secret", "plugin", id, "key", r.Key)
	}
	if aerr := a.auditEvent(context.Background(), ev); aerr != nil {
		a.log.Error("recording a plugin re-provisioning in the audit log", "error", aerr.Error())
	}
}

// reprovision provisions the running plugin lp again with cfg; see
// reprovisionPlugin. a.pluginSet.wire is held.
func (a *App) reprovision(ctx context.Context, lp *loadedPlugin, cfg json.RawMessage) error {
	id := lp.status.ID
	if _, ok := lp.p.(*pluginhost.Supervisor); ok {
		if a.pluginHost == nil {
			return fault.New(fault.Unavailable, "plugin %s: no plugin host runs", id)
		}
		// The supervisor's components follow the new process.
		return a.pluginHost.Reprovision(ctx, id)
	}
	next := lp.p
	if i := slices.IndexFunc(plugins.Builtins(), func(b plugins.Builtin) bool { return b.ID == id }); i >= 0 && lp.status.Kind == PluginBuiltin {
		next = plugins.Builtins()[i].New(a.pluginSet.deps)
	} else if err := guard.Call(a.log, id, "Cleanup", func() error { return next.Cleanup(ctx) }); err != nil {
		// An in-process plugin without a factory is provisioned again
		// in place.
		a.log.Warn("plugin cleanup before re-provisioning", "plugin", id, "err", err)
	}
	// This runs on the secret refresher's goroutine: a built-in's panic
	// fails the re-provisioning (the old plugin keeps running) instead of
	// ending Atrium.
	if err := guard.Call(a.log, id, "Provision", func() error { return next.Provision(ctx, a.pluginHostFor(id), cfg) }); err != nil {
		return errors.Join(err, a.cleanupIfNew(ctx, lp, next))
	}
	registerPluginSecrets(a.secrets, next)
	if err := guard.Call(a.log, id, "Validate", func() error { return next.Validate(ctx) }); err != nil {
		return errors.Join(err, a.cleanupIfNew(ctx, lp, next))
	}
	var comps plugin.Components
	if err := guard.Call(a.log, id, "Components", func() error { comps = next.Components(); return nil }); err != nil {
		return errors.Join(err, a.cleanupIfNew(ctx, lp, next))
	}
	a.replaceComponents(ctx, lp, next, comps)
	return nil
}

// cleanupIfNew cleans up a replacement of lp's plugin that will not be
// used.
func (a *App) cleanupIfNew(ctx context.Context, lp *loadedPlugin, next plugin.Plugin) error {
	if next == lp.p {
		return nil
	}
	return guard.Call(a.log, lp.status.ID, "Cleanup", func() error { return next.Cleanup(ctx) })
}

// replaceComponents puts next, a provisioned plugin, in the place of lp's
// and wires comps, its components, instead of the old ones. Each action is
// replaced on its own (removed and added again at once), so that a task
// finds it throughout; steps in flight finish with the old one. The old
// plugin, when another, is cleaned up last. a.pluginSet.wire is held.
func (a *App) replaceComponents(ctx context.Context, lp *loadedPlugin, next plugin.Plugin, comps plugin.Components) {
	old := lp.p
	byID := map[string]plugin.Action{}
	for _, act := range comps.Actions {
		byID[act.ID()] = act
	}
	if reg := a.pluginSet.actions; reg != nil {
		add := func(act plugin.Action) {
			if err := a.wireActions(reg, lp, []plugin.Action{act}); err != nil {
				a.log.Error("re-provisioned plugin: adding action", "plugin", lp.status.ID, "action", act.ID(), "err", err)
			}
		}
		wired := lp.actions
		lp.actions = nil
		done := map[string]bool{}
		for _, aid := range wired {
			reg.Remove(aid)
			delete(lp.inputs, aid)
			if act, ok := byID[aid]; ok {
				add(act)
				done[aid] = true
			}
		}
		for _, act := range comps.Actions {
			if !done[act.ID()] {
				add(act)
			}
		}
	}
	keep := lp.actions
	lp.actions = nil
	a.unwire(ctx, lp)
	lp.actions = keep
	a.pluginSet.mu.Lock()
	lp.p, lp.comps = next, comps
	a.pluginSet.mu.Unlock()
	if step, err := a.wireEngine(lp); err != nil {
		a.log.Error("re-provisioned plugin: "+step, "plugin", lp.status.ID, "err", err)
	}
	a.startServices(lp)
	if old != next {
		if err := guard.Call(a.log, lp.status.ID, "Cleanup", func() error { return old.Cleanup(ctx) }); err != nil {
			a.log.Warn("cleanup of the plugin replaced after a secret rotation", "plugin", lp.status.ID, "err", err)
		}
	}
}

// rotateJSON replaces old by value in every string of the JSON document
// raw and reports whether anything changed.
func rotateJSON(raw json.RawMessage, old, value string) (json.RawMessage, bool) {
	if len(raw) == 0 || old == "" || old == value {
		return raw, false
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return raw, false
	}
	changed := false
	var walk func(v any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case string:
			if strings.Contains(x, old) {
				changed = true
				return strings.ReplaceAll(x, old, value)
			}
		case map[string]any:
			for k, e := range x {
				x[k] = walk(e)
			}
		case []any:
			for i, e := range x {
				x[i] = walk(e)
			}
		}
		return v
	}
	doc = walk(doc)
	if !changed {
		return raw, false
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return raw, false
	}
	return b, true
}
