package pluginhost

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/plugin"
)

// BenchmarkCall compares a call into a real gRPC plugin made directly on
// the rpc client with the same call through the supervisor's wrapper
// (acquire, timeout context, counters).
//
//	go test -run '^$' -bench Call -benchtime 2000x ./internal/pluginhost/
func BenchmarkCall(b *testing.B) {
	bin := buildTestPlugin(b, "1.0.0", "^1.0.0")
	path := filepath.Join(b.TempDir(), "plugin")
	if err := os.WriteFile(path, bin, 0o755); err != nil {
		b.Fatal(err)
	}
	s := NewSupervisor(Spec{Manifest: Manifest{ID: "echo", Version: "1.0.0", Path: path}, Limits: realLimits()}, SupervisorParams{Launcher: RPCLauncher{}})
	start := time.Now()
	if err := s.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Logf("start (launch, handshake, provision, validate): %s", time.Since(start))
	defer s.Stop(context.Background(), false)
	s.mu.Lock()
	direct := s.cur.comps.actions["test:echo"]
	s.mu.Unlock()
	wrapped := s.Components().Actions[0]
	req := plugin.ActionRequest{Input: map[string]any{"text": "x"}}
	for _, c := range []struct {
		name string
		a    plugin.Action
	}{{"direct", direct}, {"supervised", wrapped}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if err := c.a.Run(context.Background(), req, &outputs{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
