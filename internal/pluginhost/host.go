package pluginhost

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/atrium-portal/atrium/internal/audit"
	"github.com/atrium-portal/atrium/plugin"
)

// HostOptions configure a Host.
type HostOptions struct {
	Store    *Store
	Launcher Launcher
	// Limits are the defaults (atrium.pluginHost); Overrides replace them
	// per plugin id.
	Limits    Limits
	Overrides map[string]Override
	// Config returns a plugin's configuration (plugins.<id>.config); nil
	// gives none.
	Config func(id string) json.RawMessage
	// PluginHost returns what a plugin's Provision receives.
	PluginHost func(id string) plugin.Host
	// Builtins, when set, returns the built-in plugins, listed next to
	// the external ones.
	Builtins func() []Stats
	// Registry is the index source; Fetcher reads it.
	Registry          string
	Fetcher           *Fetcher
	UnmaintainedAfter time.Duration
	// WatchInterval is how often Store is looked at; HealthInterval how
	// often memory is measured and the status file written.
	WatchInterval  time.Duration
	HealthInterval time.Duration
	// OnChange, when set, is called after a plugin started, changed
	// version or went away (s is nil then), and from health checks for a
	// running plugin whose components are not wired, so that they can be.
	OnChange func(id string, s *Supervisor)
	// OnRemove, when set, is called when a plugin was removed from the
	// Store, before it is stopped, so that its components are unwired
	// while it still answers.
	OnRemove func(ctx context.Context, id string, s *Supervisor)
	API      *semver.Version
	Audit    Auditor
	Logger   *slog.Logger
}

// Override is a per-plugin change to the defaults.
type Override struct {
	MemoryLimit int64
	CallTimeout time.Duration
	Disabled    bool
}

// Host runs the external plugins installed in a Store: it starts those
// present, swaps those whose current version changed and stops those
// removed, so that `atrium plugin install|upgrade|remove` takes effect
// without a restart.
type Host struct {
	o HostOptions

	mu   sync.Mutex
	sups map[string]*Supervisor
	// removed keeps the supervisors of removed plugins: installed again,
	// a plugin gets its old supervisor back, so that components wired at
	// start work again.
	removed map[string]*Supervisor
	busy    map[string]bool
	lastErr map[string]string

	regMu   sync.Mutex
	reg     *Index
	regErr  error
	regAt   time.Time
	regBusy bool
}

// NewHost returns a Host; Run starts it.
func NewHost(o HostOptions) *Host {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.API == nil {
		o.API = semver.MustParse(plugin.APIVersion)
	}
	if o.WatchInterval <= 0 {
		o.WatchInterval = 2 * time.Second
	}
	if o.HealthInterval <= 0 {
		o.HealthInterval = 5 * time.Second
	}
	if o.Fetcher == nil {
		o.Fetcher = &Fetcher{}
	}
	return &Host{o: o, sups: map[string]*Supervisor{}, removed: map[string]*Supervisor{}, busy: map[string]bool{}, lastErr: map[string]string{}}
}

// Run reconciles the installed plugins every WatchInterval and checks
// their health every HealthInterval until ctx ends, then stops them all.
func (h *Host) Run(ctx context.Context) error {
	h.Reconcile(ctx)
	watch := time.NewTicker(h.o.WatchInterval)
	health := time.NewTicker(h.o.HealthInterval)
	defer watch.Stop()
	defer health.Stop()
	for {
		select {
		case <-ctx.Done():
			h.stopAll()
			return nil
		case <-watch.C:
			h.Reconcile(ctx)
		case <-health.C:
			h.checkHealth(ctx)
		}
	}
}

// Load starts the installed plugins and waits until each has started or
// failed (bounded by the start timeout), so that they can be wired like
// built-ins before Atrium serves.
func (h *Host) Load(ctx context.Context) {
	h.Reconcile(ctx)
	deadline := time.Now().Add(h.o.Limits.StartTimeout + time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		h.mu.Lock()
		n := len(h.busy)
		h.mu.Unlock()
		if n == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop stops every plugin, draining calls in flight; for shutdowns that
// do not go through Run.
func (h *Host) Stop() { h.stopAll() }

// Reconcile brings the running plugins in line with the Store. Starts,
// swaps and stops run in the background, one at a time per plugin.
func (h *Host) Reconcile(ctx context.Context) {
	manifests, errs := h.o.Store.List()
	h.mu.Lock()
	defer h.mu.Unlock()
	seen := map[string]string{}
	for _, err := range errs {
		msg := err.Error()
		seen[msg] = msg
		if _, logged := h.lastErr[msg]; !logged {
			h.o.Logger.Warn("installed plugin is broken", "error", msg)
		}
	}
	h.lastErr = seen
	present := map[string]bool{}
	for _, m := range manifests {
		present[m.ID] = true
		if h.busy[m.ID] {
			continue
		}
		spec := h.spec(m)
		ov := h.o.Overrides[m.ID]
		s := h.sups[m.ID]
		switch {
		case s == nil:
			if s = h.removed[m.ID]; s != nil {
				delete(h.removed, m.ID)
				s.setDesired(spec)
			} else {
				s = NewSupervisor(spec, SupervisorParams{Launcher: h.o.Launcher, Host: h.pluginHost(m.ID), API: h.o.API, Audit: h.o.Audit, Logger: h.o.Logger})
			}
			h.sups[m.ID] = s
			if ov.Disabled {
				s.mu.Lock()
				s.state = StateDisabled
				s.stopped = true
				s.mu.Unlock()
				continue
			}
			h.background(ctx, m.ID, "plugin.start", m.Version, func(ctx context.Context) error { return s.Start(ctx) })
		case ov.Disabled:
			if s.Stats().State != StateDisabled {
				h.background(ctx, m.ID, "plugin.disable", m.Version, func(ctx context.Context) error { s.Stop(ctx, true); return nil })
			}
		case s.desiredVersion() != m.Version:
			from := s.desiredVersion()
			s.setDesired(spec)
			h.background(ctx, m.ID, "plugin.upgrade", from+" → "+m.Version, func(ctx context.Context) error { return s.Swap(ctx, spec) })
		}
	}
	for id, s := range h.sups {
		if present[id] || h.busy[id] {
			continue
		}
		h.background(ctx, id, "plugin.stop", s.desiredVersion(), func(ctx context.Context) error {
			// Unwired while still listed: a plugin gone from the list
			// has no actions, processors or providers left in Atrium.
			if h.o.OnRemove != nil {
				h.o.OnRemove(ctx, id, s)
			}
			h.mu.Lock()
			delete(h.sups, id)
			h.removed[id] = s
			h.mu.Unlock()
			s.Stop(ctx, false)
			return nil
		})
	}
}

// Reprovision starts plugin id again with the configuration that
// HostOptions.Config returns now (a secret it references rotated): a
// fresh process is provisioned with it and takes over, and calls in flight
// on the old one finish first (Supervisor.Swap). A plugin that is not
// running, or is being started, upgraded or stopped, gets the
// configuration at that start; nothing is done now.
func (h *Host) Reprovision(ctx context.Context, id string) error {
	h.mu.Lock()
	s := h.sups[id]
	if s == nil || h.busy[id] {
		h.mu.Unlock()
		return nil
	}
	s.mu.Lock()
	m, running := s.spec.Manifest, s.cur != nil
	s.mu.Unlock()
	if !running {
		s.setDesired(h.spec(m))
		h.mu.Unlock()
		return nil
	}
	spec := h.spec(m)
	h.busy[id] = true
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.busy, id)
		h.mu.Unlock()
	}()
	return s.Swap(ctx, spec)
}

// background runs op for plugin id off the caller's goroutine, audits it,
// and tells OnChange; h.mu is held.
func (h *Host) background(ctx context.Context, id, action, version string, op func(context.Context) error) {
	h.busy[id] = true
	go func() {
		err := op(context.WithoutCancel(ctx))
		h.mu.Lock()
		delete(h.busy, id)
		s := h.sups[id]
		h.mu.Unlock()
		ev := audit.Event{Actor: actor, Action: action, Resource: "plugin:" + id, Outcome: audit.Succeeded,
			Details: map[string]any{"version": version}}
		if err != nil {
			ev.Outcome = audit.Failed
			ev.Details["error"] = err.Error()
			h.o.Logger.Warn("plugin operation failed", "plugin", id, "action", action, "error", err.Error())
		}
		if h.o.Audit != nil {
			actx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if _, aerr := h.o.Audit.Append(actx, ev); aerr != nil {
				h.o.Logger.Error("audit record lost", "action", action, "error", aerr.Error())
			}
			cancel()
		}
		if h.o.OnChange != nil {
			h.o.OnChange(id, s)
		}
	}()
}

func (h *Host) pluginHost(id string) plugin.Host {
	if h.o.PluginHost != nil {
		return h.o.PluginHost(id)
	}
	return plugin.Host{Logger: h.o.Logger.With("plugin", id)}
}

// spec builds the Spec of m with the limits that apply to it.
func (h *Host) spec(m Manifest) Spec {
	l := h.o.Limits
	if ov, ok := h.o.Overrides[m.ID]; ok {
		if ov.MemoryLimit > 0 {
			l.MemoryLimit = ov.MemoryLimit
		}
		if ov.CallTimeout > 0 {
			l.CallTimeout = ov.CallTimeout
		}
	}
	var cfg json.RawMessage
	if h.o.Config != nil {
		cfg = h.o.Config(m.ID)
	}
	return Spec{Manifest: m, Config: cfg, Limits: l}
}

// desiredVersion is the version the host last asked for (which may have
// failed to start, leaving the previous one running).
func (s *Supervisor) desiredVersion() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wanted
}

// setDesired records the version being swapped to, so that the next
// reconcile does not start the same swap again.
func (s *Supervisor) setDesired(spec Spec) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.wanted = spec.Manifest.Version
	if s.cur == nil {
		s.spec = spec
	}
}

// checkHealth checks every plugin on its own goroutine: a memory restart
// (which drains calls) must not hold up the others' checks.
func (h *Host) checkHealth(ctx context.Context) {
	for _, s := range h.Plugins() {
		if s.checking.CompareAndSwap(false, true) {
			go func() {
				defer s.checking.Store(false)
				s.CheckHealth(ctx)
				h.rewire(s)
			}()
		}
	}
	h.writeStatus()
}

// rewire offers OnChange a running plugin whose components are not
// wired: one that failed to start when installed and runs now.
func (h *Host) rewire(s *Supervisor) {
	if h.o.OnChange == nil {
		return
	}
	st := s.Stats()
	if st.Wired || st.State != StateRunning && st.State != StateDegraded {
		return
	}
	h.mu.Lock()
	current := h.sups[s.id] == s && !h.busy[s.id]
	h.mu.Unlock()
	if current {
		h.o.OnChange(s.id, s)
	}
}

// Status is what the host writes to <directory>/status.json every
// HealthInterval, for `atrium plugin list` to show live states.
type Status struct {
	UpdatedAt time.Time `json:"updatedAt"`
	Pid       int       `json:"pid"`
	Plugins   []Stats   `json:"plugins"`
}

// StatusFile is the name of the status file in the plugin directory.
const StatusFile = "status.json"

func (h *Host) writeStatus() {
	st := Status{UpdatedAt: time.Now().UTC(), Pid: os.Getpid(), Plugins: h.Stats()}
	data, _ := json.MarshalIndent(st, "", "  ")
	if err := os.MkdirAll(h.o.Store.Dir, 0o755); err != nil {
		return
	}
	if err := writeAtomic(filepath.Join(h.o.Store.Dir, StatusFile), data, 0o644); err != nil {
		h.o.Logger.Warn("writing the plugin status file", "error", err.Error())
	}
}

func (h *Host) stopAll() {
	ctx, cancel := context.WithTimeout(context.Background(), h.o.Limits.DrainTimeout+5*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, s := range h.Plugins() {
		wg.Go(func() { s.Stop(ctx, false) })
	}
	wg.Wait()
}

// Plugins returns the supervised external plugins, by id.
func (h *Host) Plugins() []*Supervisor {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*Supervisor, 0, len(h.sups))
	for _, s := range h.sups {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// Plugin returns the supervisor of id.
func (h *Host) Plugin(id string) (*Supervisor, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, ok := h.sups[id]
	return s, ok
}

// Stats returns the built-in plugins (always running, in process) and the
// external ones, by id.
func (h *Host) Stats() []Stats {
	var out []Stats
	if h.o.Builtins != nil {
		out = append(out, h.o.Builtins()...)
	}
	for _, s := range h.Plugins() {
		out = append(out, s.Stats())
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// registryTTL is how long a loaded index is used before it is read again.
const registryTTL = 5 * time.Minute

// Registry returns the index, read at most every registryTTL; a stale one
// is served while it is read again in the background.
func (h *Host) Registry(ctx context.Context) (*Index, error) {
	h.regMu.Lock()
	if h.regAt.IsZero() {
		h.regMu.Unlock()
		idx, err := h.o.Fetcher.LoadIndex(ctx, h.o.Registry)
		h.regMu.Lock()
		h.reg, h.regErr, h.regAt = idx, err, time.Now()
		h.regMu.Unlock()
		return idx, err
	}
	if time.Since(h.regAt) > registryTTL && !h.regBusy {
		h.regBusy = true
		go func() {
			lctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			idx, err := h.o.Fetcher.LoadIndex(lctx, h.o.Registry)
			h.regMu.Lock()
			h.reg, h.regErr, h.regAt, h.regBusy = idx, err, time.Now(), false
			h.regMu.Unlock()
		}()
	}
	defer h.regMu.Unlock()
	return h.reg, h.regErr
}
