package pluginhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Masterminds/semver/v3"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/atrium-portal/atrium/internal/audit"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/tracing"
	"github.com/atrium-portal/atrium/plugin"
)

// State is a supervised plugin's health state.
type State string

// The states.
const (
	StateStarting State = "starting" // being launched
	StateRunning  State = "running"  // answering calls
	StateDegraded State = "degraded" // running, but failing calls or on probation after the breaker opened
	StateCrashed  State = "crashed"  // down; a restart is scheduled
	StateStopped  State = "stopped"  // stopped by the host (removed, shutting down)
	StateDisabled State = "disabled" // kept stopped by configuration
)

// Breaker is the state of a plugin's restart circuit breaker.
type Breaker string

// The breaker states.
const (
	BreakerClosed   Breaker = "closed"    // restarts follow the backoff
	BreakerOpen     Breaker = "open"      // too many consecutive failures: no restart until the cooldown ends
	BreakerHalfOpen Breaker = "half-open" // one probe start after the cooldown
)

// Limits keep one plugin in bounds (atrium.pluginHost, with per-plugin
// overrides applied).
type Limits struct {
	MemoryLimit      int64
	CallTimeout      time.Duration
	StartTimeout     time.Duration
	DrainTimeout     time.Duration
	InitialBackoff   time.Duration
	MaxBackoff       time.Duration
	BreakerThreshold int
	BreakerCooldown  time.Duration
}

// Spec is what a Supervisor runs.
type Spec struct {
	Manifest Manifest
	// Config is the plugin's configuration (plugins.<id>.config).
	Config json.RawMessage
	Limits Limits
}

// Auditor records audit events (*audit.Log).
type Auditor interface {
	Append(ctx context.Context, ev audit.Event) (audit.Entry, error)
}

// SupervisorParams are what a Supervisor needs besides its Spec.
type SupervisorParams struct {
	Launcher Launcher
	// Host is handed to the plugin's Provision.
	Host plugin.Host
	// API is this Atrium's plugin-API version (plugin.APIVersion).
	API    *semver.Version
	Audit  Auditor
	Logger *slog.Logger
}

// actor is who the host's own audit events name.
var actor = audit.Actor{Ref: "service:atrium-pluginhost", Type: "service", Via: "pluginhost"}

// Supervisor runs one external plugin: it starts it, restarts it after a
// crash with exponential backoff and a circuit breaker, restarts it over
// its memory budget, swaps versions without failing calls in flight, and
// counts calls. Its components (Components) stay valid across restarts
// and swaps; while the plugin is down they answer fault.Unavailable.
//
// Two mutexes: opMu serialises lifecycle operations (start, swap, stop),
// mu guards the fields. Neither is ever held across a call into the plugin.
type Supervisor struct {
	p  SupervisorParams
	id string

	opMu sync.Mutex

	mu          sync.Mutex
	spec        Spec
	state       State
	breaker     Breaker
	cur         *generation
	info        plugin.Info
	meta        componentMeta
	startedAt   time.Time
	restarts    int
	failures    int
	lastErr     string
	lastErrAt   time.Time
	rss         int64
	stopped     bool
	timer       *time.Timer
	nextRestart time.Time
	wrappers    map[string]any
	wanted      string
	// wired is set once the plugin's components are wired into the
	// catalog, the scaffolder and the portal (at Atrium's start or when
	// installed while it runs); wireErr says why wiring failed.
	wired   bool
	wireErr string

	stats callStats
	// checking is set while the host's health check of this plugin runs.
	checking atomic.Bool
}

var _ plugin.Plugin = (*Supervisor)(nil)

// NewSupervisor returns a stopped supervisor of spec; Start runs it.
func NewSupervisor(spec Spec, p SupervisorParams) *Supervisor {
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	if p.API == nil {
		p.API = semver.MustParse(plugin.APIVersion)
	}
	s := &Supervisor{p: p, id: spec.Manifest.ID, spec: spec, state: StateStopped, breaker: BreakerClosed, wrappers: map[string]any{}, wanted: spec.Manifest.Version}
	s.info = plugin.Info{ID: spec.Manifest.ID, Version: spec.Manifest.Version, APIVersions: spec.Manifest.APIVersions, Description: spec.Manifest.Description}
	s.p.Logger = s.p.Logger.With("plugin", s.id)
	return s
}

// ID returns the plugin's id.
func (s *Supervisor) ID() string { return s.id }

// generation is one process of the plugin and its components.
type generation struct {
	proc    Process
	version string
	comps   indexedComponents
	started time.Time

	inflight sync.WaitGroup
	// runCtx ends long-running calls (providers, services) as soon as the
	// generation is retired; ctx ends everything once draining is over.
	runCtx    context.Context
	cancelRun context.CancelFunc
	ctx       context.Context
	cancel    context.CancelFunc
	retired   atomic.Bool
	done      chan struct{}
}

// exited reports whether the process has ended, waiting up to wait for it
// (a call can fail a moment before the process is reaped).
func (g *generation) exited(wait time.Duration) bool {
	if wait <= 0 {
		select {
		case <-g.proc.Exited():
			return true
		default:
			return false
		}
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-g.proc.Exited():
		return true
	case <-t.C:
		return false
	}
}

// Start launches the plugin. A failure is recorded and a restart scheduled
// with backoff; the error is returned too.
func (s *Supervisor) Start(ctx context.Context) error {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	s.mu.Lock()
	if s.cur != nil {
		s.mu.Unlock()
		return nil
	}
	s.stopped = false
	s.state = StateStarting
	spec := s.spec
	s.mu.Unlock()
	g, err := s.launch(ctx, spec)
	if err != nil {
		s.launchFailed(err)
		return err
	}
	s.install(g, spec)
	s.p.Logger.Info("plugin started", "version", spec.Manifest.Version, "pid", g.proc.Pid())
	return nil
}

// launch starts a process of spec and brings it to use: Info checked,
// Provision, Validate, Components.
func (s *Supervisor) launch(ctx context.Context, spec Spec) (*generation, error) {
	m := spec.Manifest
	if m.SHA256 != "" {
		if err := Verify(m); err != nil {
			return nil, err
		}
	}
	lctx, cancel := context.WithTimeout(ctx, spec.Limits.StartTimeout)
	defer cancel()
	proc, err := s.p.Launcher.Launch(lctx, LaunchSpec{ID: m.ID, Version: m.Version, Path: m.Path, SHA256: m.SHA256,
		Logger: s.p.Logger, StartTimeout: spec.Limits.StartTimeout, CallTimeout: spec.Limits.CallTimeout})
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", m.Path, err)
	}
	fail := func(err error) (*generation, error) {
		proc.Kill()
		return nil, err
	}
	info := proc.Info()
	if info.ID != m.ID {
		return fail(fmt.Errorf("the executable says it is plugin %q, not %q", info.ID, m.ID))
	}
	c, err := semver.NewConstraint(info.APIVersions)
	if err != nil {
		return fail(fmt.Errorf("the plugin declares apiVersions %q, which is not a version range: %v", info.APIVersions, err))
	}
	if !c.Check(s.p.API) {
		return fail(fmt.Errorf("the plugin supports plugin API %s, but this Atrium speaks %s", info.APIVersions, s.p.API))
	}
	if err := proc.Provision(lctx, s.p.Host, spec.Config); err != nil {
		return fail(fmt.Errorf("provision: %w", err))
	}
	if err := proc.Validate(lctx); err != nil {
		return fail(fmt.Errorf("validate: %w", err))
	}
	if lctx.Err() != nil {
		return fail(fmt.Errorf("not ready within %s (atrium.pluginHost.startTimeout)", spec.Limits.StartTimeout))
	}
	g := &generation{proc: proc, version: info.Version, comps: indexComponents(proc.Components()), started: time.Now(), done: make(chan struct{})}
	g.runCtx, g.cancelRun = context.WithCancel(context.Background())
	g.ctx, g.cancel = context.WithCancel(context.Background())
	s.mu.Lock()
	s.info = info
	s.mu.Unlock()
	return g, nil
}

// install makes g the current generation and watches its process.
func (s *Supervisor) install(g *generation, spec Spec) {
	s.mu.Lock()
	s.cur = g
	s.spec = spec
	s.state = StateRunning
	s.startedAt = g.started
	s.meta = g.comps.meta()
	s.mu.Unlock()
	go s.watch(g)
}

func (s *Supervisor) watch(g *generation) {
	select {
	case <-g.proc.Exited():
		s.crashed(g)
	case <-g.done:
	}
}

// crashed handles the unexpected end of g's process.
func (s *Supervisor) crashed(g *generation) {
	s.mu.Lock()
	if s.cur != g {
		s.mu.Unlock()
		return
	}
	s.cur = nil
	s.failures++
	s.setErr(fmt.Sprintf("the process (pid %d) exited unexpectedly", g.proc.Pid()))
	s.state = StateCrashed
	delay := s.scheduleRestart()
	version := s.spec.Manifest.Version
	s.mu.Unlock()
	if g.retired.CompareAndSwap(false, true) {
		close(g.done)
	}
	g.cancelRun()
	g.cancel()
	s.p.Logger.Warn("plugin crashed", "version", version, "pid", g.proc.Pid(), "restartIn", delay.String())
	s.audit(audit.Event{Action: "plugin.crashed", Outcome: audit.Failed,
		Details: map[string]any{"version": version, "pid": g.proc.Pid(), "restartIn": delay.String()}})
}

// launchFailed records a failed start and schedules the next attempt.
func (s *Supervisor) launchFailed(err error) {
	s.mu.Lock()
	s.failures++
	s.setErr(err.Error())
	if s.breaker == BreakerHalfOpen {
		s.breaker = BreakerOpen
	}
	if !s.stopped {
		s.state = StateCrashed
	}
	delay := s.scheduleRestart()
	s.mu.Unlock()
	s.p.Logger.Warn("plugin failed to start", "error", err.Error(), "retryIn", delay.String())
}

// scheduleRestart arms the restart timer; s.mu is held. It returns the
// delay (0 when nothing was scheduled).
func (s *Supervisor) scheduleRestart() time.Duration {
	if s.stopped {
		return 0
	}
	l := s.spec.Limits
	var delay time.Duration
	if s.failures >= l.BreakerThreshold {
		s.breaker = BreakerOpen
		delay = l.BreakerCooldown
	} else {
		delay = l.InitialBackoff
		for i := 1; i < s.failures && delay < l.MaxBackoff; i++ {
			delay *= 2
		}
		delay = min(delay, l.MaxBackoff)
	}
	if s.timer != nil {
		s.timer.Stop()
	}
	s.nextRestart = time.Now().Add(delay)
	s.timer = time.AfterFunc(delay, s.restart)
	return delay
}

// restart is the restart timer's work.
func (s *Supervisor) restart() {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	s.mu.Lock()
	if s.stopped || s.cur != nil {
		s.mu.Unlock()
		return
	}
	if s.breaker == BreakerOpen {
		s.breaker = BreakerHalfOpen
	}
	s.state = StateStarting
	s.nextRestart = time.Time{}
	spec := s.spec
	s.mu.Unlock()
	g, err := s.launch(context.Background(), spec)
	if err != nil {
		s.launchFailed(err)
		return
	}
	s.mu.Lock()
	s.restarts++
	s.mu.Unlock()
	s.install(g, spec)
	s.p.Logger.Info("plugin restarted", "version", spec.Manifest.Version, "pid", g.proc.Pid())
}

// Swap replaces the running process by one of spec (an upgrade, or a
// fresh process of the same version): the new one starts first; calls
// arriving from then on go to it; calls in flight on the old one finish
// (up to DrainTimeout) before it is stopped. If the new one fails to
// start, the old one keeps running and the error is returned.
func (s *Supervisor) Swap(ctx context.Context, spec Spec) error {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	g, err := s.launch(ctx, spec)
	if err != nil {
		s.mu.Lock()
		s.setErr(fmt.Sprintf("starting version %s: %v", spec.Manifest.Version, err))
		running := s.cur != nil
		s.mu.Unlock()
		if !running {
			s.mu.Lock()
			s.spec = spec
			s.mu.Unlock()
			s.launchFailed(err)
		}
		return err
	}
	s.mu.Lock()
	old := s.cur
	s.stopped = false
	if s.timer != nil {
		s.timer.Stop()
	}
	s.mu.Unlock()
	s.install(g, spec)
	if old != nil {
		s.retire(old, spec.Limits.DrainTimeout)
	}
	return nil
}

// retire stops g once the calls in flight on it have finished.
func (s *Supervisor) retire(g *generation, drain time.Duration) {
	if !g.retired.CompareAndSwap(false, true) {
		return
	}
	close(g.done)
	g.cancelRun()
	drained := make(chan struct{})
	go func() {
		g.inflight.Wait()
		close(drained)
	}()
	t := time.NewTimer(drain)
	select {
	case <-drained:
	case <-t.C:
		s.p.Logger.Warn("plugin calls still running after the drain timeout; stopping the old process", "drainTimeout", drain.String())
	}
	t.Stop()
	g.cancel()
	cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_ = g.proc.Cleanup(cctx)
	cancel()
	g.proc.Kill()
}

// Stop stops the plugin (draining calls in flight) and cancels restarts.
// With disabled the state says it is kept stopped by configuration.
func (s *Supervisor) Stop(ctx context.Context, disabled bool) {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	s.mu.Lock()
	s.stopped = true
	if s.timer != nil {
		s.timer.Stop()
	}
	s.nextRestart = time.Time{}
	old := s.cur
	s.cur = nil
	s.state = StateStopped
	if disabled {
		s.state = StateDisabled
	}
	drain := s.spec.Limits.DrainTimeout
	s.mu.Unlock()
	if dl, ok := ctx.Deadline(); ok {
		drain = min(drain, time.Until(dl))
	}
	if old != nil {
		s.retire(old, drain)
	}
}

// CheckHealth measures the process's memory; over the budget it audits
// the event and restarts the plugin. It also closes the breaker of a
// plugin that has stayed up long enough.
func (s *Supervisor) CheckHealth(ctx context.Context) {
	s.mu.Lock()
	g := s.cur
	limits := s.spec.Limits
	s.mu.Unlock()
	if g == nil {
		return
	}
	rss, err := processRSS(g.proc.Pid())
	s.mu.Lock()
	if err == nil {
		s.rss = rss
	}
	if s.cur == g && time.Since(g.started) >= limits.MaxBackoff {
		s.failures = 0
		s.breaker = BreakerClosed
	}
	version := s.spec.Manifest.Version
	s.mu.Unlock()
	if err != nil || limits.MemoryLimit <= 0 || rss <= limits.MemoryLimit {
		return
	}
	msg := fmt.Sprintf("resident memory %s is over the budget of %s; restarted", formatBytes(rss), formatBytes(limits.MemoryLimit))
	s.p.Logger.Warn("plugin over its memory budget", "rss", rss, "limit", limits.MemoryLimit, "pid", g.proc.Pid())
	s.audit(audit.Event{Action: "plugin.memory.exceeded", Outcome: audit.Failed, Details: map[string]any{
		"version": version, "pid": g.proc.Pid(), "rssBytes": rss, "limitBytes": limits.MemoryLimit,
	}})
	s.mu.Lock()
	s.setErr(msg)
	s.restarts++
	s.mu.Unlock()
	if _, err := s.renew(ctx, g); err != nil {
		// No fresh process: the leaking one goes anyway; the crash path
		// restarts it with backoff.
		g.proc.Kill()
	}
}

// renew replaces the running process by a fresh one of the current spec,
// read under opMu so that it never undoes an upgrade made meanwhile. With
// only set, nothing happens unless only is still the running process. It
// reports whether a fresh process took over.
func (s *Supervisor) renew(ctx context.Context, only *generation) (bool, error) {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	s.mu.Lock()
	cur, spec := s.cur, s.spec
	s.mu.Unlock()
	if cur == nil || (only != nil && cur != only) {
		return false, nil
	}
	g, err := s.launch(ctx, spec)
	if err != nil {
		s.mu.Lock()
		s.setErr(fmt.Sprintf("starting a fresh process: %v", err))
		s.mu.Unlock()
		return false, err
	}
	s.install(g, spec)
	s.retire(cur, spec.Limits.DrainTimeout)
	return true, nil
}

func (s *Supervisor) setErr(msg string) {
	s.lastErr = msg
	s.lastErrAt = time.Now()
}

func (s *Supervisor) audit(ev audit.Event) {
	if s.p.Audit == nil {
		return
	}
	ev.Actor = actor
	ev.Resource = "plugin:" + s.id
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.p.Audit.Append(ctx, ev); err != nil {
		s.p.Logger.Error("audit record lost", "action", ev.Action, "error", err.Error())
	}
}

// acquire returns the current generation with a call counted in flight,
// or fault.Unavailable saying why the plugin cannot answer.
func (s *Supervisor) acquire(what string) (*generation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		why := string(s.state)
		switch {
		case s.state == StateCrashed && s.breaker == BreakerOpen:
			why = fmt.Sprintf("down after %d consecutive failures (circuit open until %s)", s.failures, s.nextRestart.UTC().Format(time.TimeOnly))
		case s.state == StateCrashed && !s.nextRestart.IsZero():
			why = fmt.Sprintf("crashed (restarting in %s)", time.Until(s.nextRestart).Round(time.Millisecond))
		}
		return nil, fault.New(fault.Unavailable, "plugin %s is %s: %s is unavailable", s.id, why, what)
	}
	s.cur.inflight.Add(1)
	return s.cur, nil
}

// call runs f against the current generation, bounded by the call timeout
// when timed, and counts it. long calls (providers, services) end as soon
// as the generation is replaced.
func (s *Supervisor) call(ctx context.Context, what string, timed, long bool, f func(context.Context, *generation) error) (err error) {
	if !long {
		var span trace.Span
		ctx, span = tracing.StartSpan(ctx, "plugin "+what, attribute.String("atrium.plugin", s.id))
		defer func() { tracing.End(span, err) }()
	}
	g, err := s.acquire(what)
	if err != nil {
		return err
	}
	defer g.inflight.Done()
	end := g.ctx
	if long {
		end = g.runCtx
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(end, cancel)
	defer stop()
	var timeout time.Duration
	if timed {
		s.mu.Lock()
		timeout = s.spec.Limits.CallTimeout
		s.mu.Unlock()
		var tcancel context.CancelFunc
		cctx, tcancel = context.WithTimeout(cctx, timeout)
		defer tcancel()
	}
	start := time.Now()
	err = f(cctx, g)
	elapsed := time.Since(start)
	callerGone := ctx.Err() != nil
	if err != nil && !callerGone {
		// A plugin's own errors keep their kind (invalid input, not
		// found, …); only what may be a broken connection is worth
		// waiting a moment for the process's exit to be noticed.
		k := fault.KindOf(err)
		transport := k == fault.Unavailable || k == fault.Internal
		stopped := func() error {
			return fault.Wrap(fault.Unavailable, err, "plugin %s stopped during the call to %s; it is being restarted", s.id, what)
		}
		switch {
		case g.exited(0):
			err = stopped()
		case timed && errors.Is(cctx.Err(), context.DeadlineExceeded):
			err = fault.Wrap(fault.Unavailable, err, "plugin %s did not answer %s within %s (atrium.pluginHost.callTimeout)", s.id, what, timeout)
		case transport && g.exited(200*time.Millisecond):
			err = stopped()
		case !long && g.ctx.Err() != nil:
			err = fault.Wrap(fault.Unavailable, err, "plugin %s was replaced during the call to %s", s.id, what)
		}
	}
	if !callerGone {
		s.stats.record(elapsed, err)
	}
	if err == nil {
		s.mu.Lock()
		if s.breaker == BreakerHalfOpen && s.cur == g {
			s.breaker = BreakerClosed
			s.failures = 0
		}
		s.mu.Unlock()
	}
	return err
}

// MarkWired records that the plugin's components were wired into Atrium.
func (s *Supervisor) MarkWired() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.wired = true
}

// MarkUnwired records that the plugin's components were taken out of
// Atrium (it was removed).
func (s *Supervisor) MarkUnwired() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.wired, s.wireErr = false, ""
}

// SetWireError records why (some of) the plugin's components could not be
// wired.
func (s *Supervisor) SetWireError(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.wireErr = msg
}

// Info describes the plugin (the running version's own Info once started).
func (s *Supervisor) Info() plugin.Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.info
}

// Provision records the configuration and starts the plugin when it is
// not running, so that a Supervisor can stand wherever a plugin.Plugin does.
func (s *Supervisor) Provision(ctx context.Context, host plugin.Host, config json.RawMessage) error {
	s.mu.Lock()
	s.p.Host = host
	if config != nil {
		s.spec.Config = config
	}
	s.mu.Unlock()
	return s.Start(ctx)
}

// Validate reports whether the plugin is running.
func (s *Supervisor) Validate(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		return fault.New(fault.Unavailable, "plugin %s is %s: %s", s.id, s.state, s.lastErr)
	}
	return nil
}

// Cleanup stops the plugin.
func (s *Supervisor) Cleanup(ctx context.Context) error {
	s.Stop(ctx, false)
	return nil
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
