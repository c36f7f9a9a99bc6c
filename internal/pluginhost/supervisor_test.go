package pluginhost

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/audit"
	"github.com/atrium-portal/atrium/internal/fault"
)

// recorder is an Auditor that keeps events.
type recorder struct {
	mu     sync.Mutex
	events []audit.Event
}

func (r *recorder) Append(_ context.Context, ev audit.Event) (audit.Entry, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	return audit.Entry{Event: ev}, nil
}

func (r *recorder) find(action string) (audit.Event, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ev := range r.events {
		if ev.Action == action {
			return ev, true
		}
	}
	return audit.Event{}, false
}

func testLimits() Limits {
	return Limits{
		MemoryLimit: 256 << 20, CallTimeout: 5 * time.Second, StartTimeout: 10 * time.Second, DrainTimeout: 10 * time.Second,
		InitialBackoff: 100 * time.Millisecond, MaxBackoff: 800 * time.Millisecond, BreakerThreshold: 3, BreakerCooldown: time.Second,
	}
}

func newTestSupervisor(t *testing.T, l Launcher, limits Limits, rec *recorder) *Supervisor {
	t.Helper()
	s := NewSupervisor(Spec{Manifest: Manifest{ID: "echo", Version: "1.0.0"}, Limits: limits}, SupervisorParams{Launcher: l, Audit: rec})
	if err := s.Start(context.Background()); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { s.Stop(context.Background(), false) })
	return s
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSupervisorKilledPluginComesBack(t *testing.T) {
	l := &procLauncher{mode: "echo"}
	rec := &recorder{}
	s := newTestSupervisor(t, l, testLimits(), rec)
	ctx := context.Background()
	if got, err := echo(ctx, s, "hi", 0); err != nil || got != "hi" {
		t.Fatalf("echo = %q, %v; want hi", got, err)
	}
	pid := s.Stats().Pid

	// Kill -9 mid-call: the caller gets a clear Unavailable error.
	errc := make(chan error, 1)
	go func() {
		_, err := echo(ctx, s, "slow", 5000)
		errc <- err
	}()
	time.Sleep(200 * time.Millisecond)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := <-errc
	if !fault.Is(err, fault.Unavailable) || !strings.Contains(err.Error(), "stopped during the call") {
		t.Fatalf("call during kill: got %v, want Unavailable naming the stop", err)
	}
	// While down, calls answer Unavailable at once.
	waitFor(t, 2*time.Second, "state crashed", func() bool { return s.Stats().State == StateCrashed || s.Stats().State == StateRunning })
	if st := s.Stats(); st.State == StateCrashed {
		if _, err := echo(ctx, s, "x", 0); !fault.Is(err, fault.Unavailable) {
			t.Fatalf("call while crashed: got %v, want Unavailable", err)
		}
	}
	// It comes back after the backoff, as a new process.
	waitFor(t, 5*time.Second, "restart", func() bool { st := s.Stats(); return st.State == StateRunning && st.Pid != pid })
	if got, err := echo(ctx, s, "again", 0); err != nil || got != "again" {
		t.Fatalf("echo after restart = %q, %v", got, err)
	}
	st := s.Stats()
	if st.Restarts != 1 {
		t.Errorf("restarts: got %d, want 1", st.Restarts)
	}
	if !strings.Contains(st.LastError, "exited unexpectedly") {
		t.Errorf("last error: got %q", st.LastError)
	}
	if st.Calls != 3 || st.Errors != 1 {
		t.Errorf("calls/errors: got %d/%d, want 3/1", st.Calls, st.Errors)
	}
	if _, ok := rec.find("plugin.crashed"); !ok {
		t.Errorf("no plugin.crashed audit event")
	}
}

func TestSupervisorBackoffAndBreaker(t *testing.T) {
	l := &procLauncher{mode: "echo"}
	lim := testLimits()
	s := newTestSupervisor(t, l, lim, &recorder{})
	l.setFail(true)
	start := time.Now()
	_ = syscall.Kill(s.Stats().Pid, syscall.SIGKILL)
	// 1 crash + failed starts: the breaker opens after 3 consecutive failures.
	waitFor(t, 5*time.Second, "breaker open", func() bool { return s.Stats().Breaker == BreakerOpen })
	elapsed := time.Since(start)
	// Backoffs 100ms (after the crash) then 200ms before the third failure.
	if elapsed < 300*time.Millisecond {
		t.Errorf("breaker opened after %s; the backoff should have taken at least 300ms", elapsed)
	}
	launches := l.count()
	if launches != 3 { // the first start, then two failed restarts
		t.Errorf("launches before the breaker opened: got %d, want 3", launches)
	}
	_, err := echo(context.Background(), s, "x", 0)
	if !fault.Is(err, fault.Unavailable) || !strings.Contains(err.Error(), "circuit open") {
		t.Fatalf("call with the breaker open: got %v", err)
	}
	// During the cooldown nothing is launched.
	time.Sleep(lim.BreakerCooldown / 2)
	if n := l.count(); n != launches {
		t.Errorf("launches during the cooldown: got %d, want %d", n, launches)
	}
	// The half-open probe succeeds once the executable works again; the
	// first successful call closes the breaker.
	l.setFail(false)
	waitFor(t, 3*time.Second, "probe start", func() bool { return s.Stats().Pid != 0 })
	if st := s.Stats(); st.Breaker != BreakerHalfOpen || st.State != StateDegraded {
		t.Errorf("after the probe: breaker %s state %s, want half-open degraded", st.Breaker, st.State)
	}
	if _, err := echo(context.Background(), s, "ok", 0); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Breaker != BreakerClosed || st.Failures != 0 || st.State != StateRunning {
		t.Errorf("after a good call: breaker %s failures %d state %s", st.Breaker, st.Failures, st.State)
	}
}

func TestSupervisorCallTimeout(t *testing.T) {
	lim := testLimits()
	lim.CallTimeout = 100 * time.Millisecond
	s := NewSupervisor(Spec{Manifest: Manifest{ID: "echo", Version: "1.0.0"}, Limits: lim}, SupervisorParams{Launcher: &procLauncher{mode: "echo"}})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Stop(context.Background(), false)
	g, _ := s.acquire("x")
	g.inflight.Done()
	p := g.proc.(*procPlugin)
	start := time.Now()
	err := s.call(context.Background(), "processor slow", true, false, func(ctx context.Context, g *generation) error {
		_, err := p.ask(ctx, childRequest{SleepMs: 2000})
		return err
	})
	if !fault.Is(err, fault.Unavailable) || !strings.Contains(err.Error(), "did not answer processor slow within 100ms") {
		t.Fatalf("got %v, want a timeout naming the call", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("the call took %s", d)
	}
}

func TestSupervisorMemoryBudget(t *testing.T) {
	lim := testLimits()
	lim.MemoryLimit = 64 << 20
	rec := &recorder{}
	s := NewSupervisor(Spec{Manifest: Manifest{ID: "leaky", Version: "1.0.0"}, Limits: lim}, SupervisorParams{Launcher: &procLauncher{mode: "leak"}, Audit: rec})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Stop(context.Background(), false)
	pid := s.Stats().Pid
	ctx := context.Background()
	waitFor(t, 20*time.Second, "a restart over the budget", func() bool {
		s.CheckHealth(ctx)
		return s.Stats().Restarts >= 1
	})
	ev, ok := rec.find("plugin.memory.exceeded")
	if !ok {
		t.Fatal("no plugin.memory.exceeded audit event")
	}
	if ev.Resource != "plugin:leaky" || ev.Outcome != audit.Failed || ev.Details["limitBytes"] != int64(64<<20) {
		t.Errorf("audit event: %+v", ev)
	}
	if rss, _ := ev.Details["rssBytes"].(int64); rss <= 64<<20 {
		t.Errorf("audited rss %d is not over the budget", rss)
	}
	st := s.Stats()
	if st.Pid == pid || st.State != StateRunning {
		t.Errorf("after the restart: pid %d (was %d), state %s", st.Pid, pid, st.State)
	}
	if !strings.Contains(st.LastError, "over the budget of 64.0 MiB") {
		t.Errorf("last error: %q", st.LastError)
	}
}

// TestSupervisorSwapUnderLoad upgrades and restarts the plugin while
// callers keep calling: no call fails.
func TestSupervisorSwapUnderLoad(t *testing.T) {
	l := &procLauncher{mode: "echo"}
	s := newTestSupervisor(t, l, testLimits(), &recorder{})
	ctx, cancel := context.WithCancel(context.Background())
	var calls, failures atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				text := fmt.Sprintf("w%d-%d", w, i)
				got, err := echo(context.Background(), s, text, 20)
				calls.Add(1)
				if err != nil || got != text {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("%q: %v", got, err))
				}
			}
		})
	}
	for i, v := range []string{"1.1.0", "1.2.0", "1.2.0"} {
		time.Sleep(300 * time.Millisecond)
		spec := Spec{Manifest: Manifest{ID: "echo", Version: v}, Limits: testLimits()}
		if err := s.Swap(context.Background(), spec); err != nil {
			t.Fatalf("swap %d: %v", i, err)
		}
		if got := s.Stats().Version; got != v {
			t.Errorf("version after swap: got %s, want %s", got, v)
		}
	}
	time.Sleep(300 * time.Millisecond)
	cancel()
	wg.Wait()
	if failures.Load() > 0 {
		t.Fatalf("%d of %d calls failed during swaps; first: %v", failures.Load(), calls.Load(), firstErr.Load())
	}
	if calls.Load() < 100 {
		t.Errorf("only %d calls ran", calls.Load())
	}
	t.Logf("%d calls across 3 swaps, none failed", calls.Load())
}

func TestSupervisorSwapFailureKeepsOld(t *testing.T) {
	l := &procLauncher{mode: "echo"}
	s := newTestSupervisor(t, l, testLimits(), &recorder{})
	l.setFail(true)
	err := s.Swap(context.Background(), Spec{Manifest: Manifest{ID: "echo", Version: "2.0.0"}, Limits: testLimits()})
	if err == nil {
		t.Fatal("swap to a broken executable succeeded")
	}
	if got, err := echo(context.Background(), s, "still", 0); err != nil || got != "still" {
		t.Fatalf("old version after a failed swap: %q, %v", got, err)
	}
	if st := s.Stats(); st.Version != "1.0.0" || !strings.Contains(st.LastError, "starting version 2.0.0") {
		t.Errorf("stats: version %s, last error %q", st.Version, st.LastError)
	}
}

// TestSupervisorPluginErrorsKeepTheirKind: an error the plugin returns
// reaches the caller as it was, at once, and counts as an error.
func TestSupervisorPluginErrorsKeepTheirKind(t *testing.T) {
	s := newTestSupervisor(t, &procLauncher{mode: "echo"}, testLimits(), &recorder{})
	start := time.Now()
	err := s.call(context.Background(), "processor p", true, false, func(context.Context, *generation) error {
		return fault.New(fault.Invalid, "spec.owner is missing")
	})
	if !fault.Is(err, fault.Invalid) || err.Error() != "spec.owner is missing" {
		t.Errorf("got %v, want the plugin's own error", err)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("a plugin's error took %s to come back", d)
	}
	if st := s.Stats(); st.Calls != 1 || st.Errors != 1 || st.State != StateRunning {
		t.Errorf("stats: %+v", st)
	}
}
