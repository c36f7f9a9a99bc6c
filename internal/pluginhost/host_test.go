package pluginhost

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/plugin"
)

// startHost runs a Host over store with the gRPC launcher until the test ends.
func startHost(t *testing.T, store *Store, rec *recorder, config json.RawMessage, limits Limits) *Host {
	t.Helper()
	h := NewHost(HostOptions{
		Store: store, Launcher: RPCLauncher{}, Limits: limits, Audit: rec,
		Config:        func(string) json.RawMessage { return config },
		WatchInterval: 100 * time.Millisecond, HealthInterval: 200 * time.Millisecond,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		_ = h.Run(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return h
}

func realLimits() Limits {
	l := testLimits()
	l.StartTimeout = 20 * time.Second
	return l
}

// running waits for plugin id to run version and returns its supervisor.
func running(t *testing.T, h *Host, id, version string) *Supervisor {
	t.Helper()
	var s *Supervisor
	waitFor(t, 30*time.Second, id+" "+version+" running", func() bool {
		var ok bool
		s, ok = h.Plugin(id)
		if !ok {
			return false
		}
		st := s.Stats()
		return ok && st.State == StateRunning && st.Version == version
	})
	return s
}

func runEcho(ctx context.Context, a plugin.Action, text string, sleepMs int) (map[string]any, error) {
	var out outputs
	err := a.Run(ctx, plugin.ActionRequest{Input: map[string]any{"text": text, "sleepMs": sleepMs}}, &out)
	return out.m, err
}

// TestHostInstallUpgradeRemoveUnderLoad installs a real plugin, upgrades
// it while calls keep coming and removes it with calls in flight: no call
// is lost, and the server needed no restart.
func TestHostInstallUpgradeRemoveUnderLoad(t *testing.T) {
	reg := newTestRegistry(t)
	reg.publish("echo",
		testRelease{Version: "1.0.0", APIVersions: "^1.0.0", Binary: buildTestPlugin(t, "1.0.0", "^1.0.0")},
		testRelease{Version: "1.1.0", APIVersions: "^1.0.0", Binary: buildTestPlugin(t, "1.1.0", "^1.0.0")},
	)
	store := &Store{Dir: filepath.Join(t.TempDir(), "plugins")}
	if _, err := installFrom(t, reg, store, "echo", "1.0.0"); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	h := startHost(t, store, rec, nil, realLimits())
	s := running(t, h, "echo", "1.0.0")
	acts := s.Components().Actions
	if len(acts) != 1 || acts[0].ID() != "test:echo" || acts[0].Description() == "" {
		t.Fatalf("actions: %v", acts)
	}
	action := acts[0]

	ctx, stop := context.WithCancel(context.Background())
	var calls, failures atomic.Int64
	var firstErr atomic.Value
	var sawNew atomic.Bool
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				text := fmt.Sprintf("w%d-%d", w, i)
				out, err := runEcho(context.Background(), action, text, 10)
				calls.Add(1)
				if err != nil || out["text"] != text {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("%v: %v", out, err))
				}
				if out["version"] == "1.1.0" {
					sawNew.Store(true)
				}
			}
		})
	}
	time.Sleep(500 * time.Millisecond)
	if _, err := installFrom(t, reg, store, "echo", "1.1.0"); err != nil {
		t.Fatal(err)
	}
	running(t, h, "echo", "1.1.0")
	waitFor(t, 10*time.Second, "calls answered by 1.1.0", sawNew.Load)
	time.Sleep(300 * time.Millisecond)
	stop()
	wg.Wait()
	if n := failures.Load(); n > 0 {
		t.Fatalf("%d of %d calls failed during the upgrade; first: %v", n, calls.Load(), firstErr.Load())
	}
	t.Logf("%d calls during the upgrade, none failed", calls.Load())

	// Removal with calls in flight: they finish; later calls are refused.
	errs := make(chan error, 3)
	for i := range 3 {
		go func() {
			_, err := runEcho(context.Background(), action, fmt.Sprint(i), 600)
			errs <- err
		}()
	}
	time.Sleep(150 * time.Millisecond)
	if err := store.Remove("echo"); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Errorf("a call in flight during the removal failed: %v", err)
		}
	}
	waitFor(t, 10*time.Second, "echo removed", func() bool { _, ok := h.Plugin("echo"); return !ok && s.Stats().State == StateStopped })
	if _, err := runEcho(context.Background(), action, "late", 0); !fault.Is(err, fault.Unavailable) {
		t.Errorf("a call after removal: got %v, want Unavailable", err)
	}
	// Installed again, the plugin answers through the same component
	// (wired into Atrium at start).
	if _, err := installFrom(t, reg, store, "echo", "1.0.0"); err != nil {
		t.Fatal(err)
	}
	if again := running(t, h, "echo", "1.0.0"); again != s {
		t.Error("a reinstalled plugin got a new supervisor; components wired at start would stay broken")
	}
	if out, err := runEcho(context.Background(), action, "again", 0); err != nil || out["text"] != "again" {
		t.Errorf("the old component after a reinstall: %v, %v", out, err)
	}
	waitFor(t, 5*time.Second, "audit of the stop", func() bool { _, ok := rec.find("plugin.stop"); return ok })
	for _, a := range []string{"plugin.start", "plugin.upgrade", "plugin.stop"} {
		if ev, ok := rec.find(a); !ok || ev.Resource != "plugin:echo" || ev.Actor.Ref != "service:atrium-pluginhost" {
			t.Errorf("audit %s: %+v (found %v)", a, ev, ok)
		}
	}
}

// TestHostRealPluginKilledAndLeaking kills a real gRPC plugin with SIGKILL
// mid-call, then lets one leak memory past its budget.
func TestHostRealPluginKilledAndLeaking(t *testing.T) {
	reg := newTestRegistry(t)
	reg.publish("echo", testRelease{Version: "1.0.0", APIVersions: "^1.0.0", Binary: buildTestPlugin(t, "1.0.0", "^1.0.0")})
	store := &Store{Dir: filepath.Join(t.TempDir(), "plugins")}
	if _, err := installFrom(t, reg, store, "echo", "1.0.0"); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	h := startHost(t, store, rec, nil, realLimits())
	s := running(t, h, "echo", "1.0.0")
	action := s.Components().Actions[0]
	pid := s.Stats().Pid
	errc := make(chan error, 1)
	go func() {
		_, err := runEcho(context.Background(), action, "slow", 5000)
		errc <- err
	}()
	time.Sleep(300 * time.Millisecond)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !fault.Is(err, fault.Unavailable) {
			t.Errorf("the call in flight: got %v, want Unavailable", err)
		}
		t.Logf("the caller saw: %v", err)
	case <-time.After(3 * time.Second):
		t.Fatal("the call in flight did not end when the plugin was killed")
	}
	waitFor(t, 30*time.Second, "a new process", func() bool { st := s.Stats(); return st.State == StateRunning && st.Pid != pid })
	if out, err := runEcho(context.Background(), action, "back", 0); err != nil || out["text"] != "back" {
		t.Fatalf("after the restart: %v, %v", out, err)
	}
	if st := s.Stats(); st.Restarts != 1 {
		t.Errorf("restarts: got %d, want 1", st.Restarts)
	}

	// The same plugin, configured to leak, over a 64 MiB budget.
	leakStore := &Store{Dir: filepath.Join(t.TempDir(), "plugins")}
	if _, err := installFrom(t, reg, leakStore, "echo", "1.0.0"); err != nil {
		t.Fatal(err)
	}
	lim := realLimits()
	lim.MemoryLimit = 64 << 20
	leakRec := &recorder{}
	lh := startHost(t, leakStore, leakRec, json.RawMessage(`{"leak": true}`), lim)
	ls := running(t, lh, "echo", "1.0.0")
	first := ls.Stats().Pid
	waitFor(t, 30*time.Second, "the memory budget audit", func() bool { _, ok := leakRec.find("plugin.memory.exceeded"); return ok })
	ev, _ := leakRec.find("plugin.memory.exceeded")
	if ev.Details["pid"] != first || ev.Details["limitBytes"] != int64(64<<20) {
		t.Errorf("audit details: %v (first pid %d)", ev.Details, first)
	}
	waitFor(t, 30*time.Second, "a fresh process", func() bool { st := ls.Stats(); return st.Pid != first && st.Pid != 0 })
	if st := ls.Stats(); st.Restarts < 1 {
		t.Errorf("restarts: %d", st.Restarts)
	}
}

// TestHostDisabledPlugin: atrium.pluginHost.plugins.<id>.disabled keeps
// an installed plugin stopped, shown as disabled.
func TestHostDisabledPlugin(t *testing.T) {
	dir := t.TempDir()
	store := &Store{Dir: filepath.Join(dir, "plugins")}
	if err := os.MkdirAll(filepath.Join(store.Dir, "echo", "1.0.0"), 0o755); err != nil {
		t.Fatal(err)
	}
	m, _ := json.Marshal(Manifest{ID: "echo", Version: "1.0.0"})
	for name, data := range map[string][]byte{"echo/1.0.0/manifest.json": m, "echo/current": []byte("1.0.0\n")} {
		if err := os.WriteFile(filepath.Join(store.Dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	l := &procLauncher{mode: "echo"}
	h := NewHost(HostOptions{Store: store, Launcher: l, Limits: testLimits(), Overrides: map[string]Override{"echo": {Disabled: true}}})
	h.Load(context.Background())
	s, ok := h.Plugin("echo")
	if !ok {
		t.Fatal("a disabled plugin is not listed")
	}
	if st := s.Stats(); st.State != StateDisabled || l.count() != 0 {
		t.Errorf("disabled plugin: state %s, %d launches", st.State, l.count())
	}
	if err := s.Validate(context.Background()); !fault.Is(err, fault.Unavailable) || !strings.Contains(err.Error(), "plugin echo is disabled") {
		t.Errorf("validate: %v", err)
	}
	if _, err := s.acquire("action test:echo"); !fault.Is(err, fault.Unavailable) || !strings.Contains(err.Error(), "plugin echo is disabled: action test:echo is unavailable") {
		t.Errorf("a call: %v", err)
	}
}
