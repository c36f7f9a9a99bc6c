package pluginhost

import (
	"context"
	"encoding/json"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestHostWiresAndUnwires checks the calls that let Atrium wire a plugin
// installed while it runs: OnChange once the plugin runs (and again from
// health checks until it is marked wired), and OnRemove before the plugin
// is stopped, while its action still answers.
func TestHostWiresAndUnwires(t *testing.T) {
	reg := newTestRegistry(t)
	reg.publish("echo", testRelease{Version: "1.0.0", APIVersions: "^1.0.0", Binary: buildTestPlugin(t, "1.0.0", "^1.0.0")})
	store := &Store{Dir: filepath.Join(t.TempDir(), "plugins")}
	var (
		mu       sync.Mutex
		changes  int
		removeOK = make(chan error, 1)
	)
	h := NewHost(HostOptions{
		Store: store, Launcher: RPCLauncher{}, Limits: realLimits(), Audit: &recorder{},
		Config:        func(string) json.RawMessage { return nil },
		WatchInterval: 100 * time.Millisecond, HealthInterval: 100 * time.Millisecond,
		OnChange: func(id string, s *Supervisor) {
			if s == nil || s.Stats().State != StateRunning {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			// Wired at the third offer: the health checks keep offering.
			if changes++; changes == 3 {
				s.MarkWired()
			}
		},
		OnRemove: func(ctx context.Context, id string, s *Supervisor) {
			// Unwiring happens while the plugin still serves.
			_, err := runEcho(ctx, s.Components().Actions[0], "last", 0)
			s.MarkUnwired()
			removeOK <- err
		},
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
	if _, err := installFrom(t, reg, store, "echo", "1.0.0"); err != nil {
		t.Fatal(err)
	}
	s := running(t, h, "echo", "1.0.0")
	waitFor(t, 10*time.Second, "echo marked wired", func() bool { return s.Stats().Wired })
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	settled := changes
	mu.Unlock()
	time.Sleep(500 * time.Millisecond)
	mu.Lock()
	if changes < 3 || changes != settled {
		t.Errorf("OnChange offered a running plugin %d times (%d before the last wait), want 3 or more, then none once it is wired", changes, settled)
	}
	mu.Unlock()

	if err := store.Remove("echo"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-removeOK:
		if err != nil {
			t.Errorf("an action call during OnRemove: %v, want it answered", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("OnRemove was not called")
	}
	waitFor(t, 10*time.Second, "echo stopped", func() bool { return s.Stats().State == StateStopped })
	if s.Stats().Wired {
		t.Error("a removed plugin is still marked wired")
	}
}
