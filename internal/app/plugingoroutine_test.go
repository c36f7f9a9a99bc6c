package app_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/app"
	"github.com/atrium-portal/atrium/plugin"
)

// goroutinePanic is an in-process plugin that starts a goroutine of its
// own in Provision (plugin.Host.Go) which panics.
type goroutinePanic struct{ fakePlugin }

func (p *goroutinePanic) Provision(_ context.Context, host plugin.Host, _ json.RawMessage) error {
	host.Go("watch", func() { panic("token-in-the-panic") })
	return nil
}

// TestPluginGoroutinePanic: a panic on a goroutine an in-process plugin
// started itself ends neither Atrium nor the plugin's use: the plugin
// stays running, marked unhealthy with the plugin and the goroutine
// named (not the panic's value). Without the guard the panic ends the
// test binary.
func TestPluginGoroutinePanic(t *testing.T) {
	p := &goroutinePanic{fakePlugin{info: plugin.Info{ID: "go-panic", Version: "1.0.0", APIVersions: "^1.0"}}}
	a, base := startWithPlugins(t, "", p)
	var got app.PluginStatus
	deadline := time.Now().Add(time.Minute)
	for got.Unhealthy == "" {
		if time.Now().After(deadline) {
			t.Fatalf("go-panic: %+v a minute after its goroutine panicked, want it marked unhealthy", got)
		}
		time.Sleep(10 * time.Millisecond)
		for _, st := range a.Plugins() {
			if st.ID == "go-panic" {
				got = st
			}
		}
	}
	if got.State != app.PluginRunning {
		t.Errorf("go-panic: state %q, want %q", got.State, app.PluginRunning)
	}
	if want := "plugin go-panic panicked in goroutine watch"; !strings.Contains(got.Unhealthy, want) || strings.Contains(got.Unhealthy, "token-in-the-panic") {
		t.Errorf("go-panic: unhealthy %q, want %q without the panic's value", got.Unhealthy, want)
	}
	if status, _ := (sclient{t: t, base: base}).do("GET", "/healthz", nil); status != 200 {
		t.Errorf("healthz: %d", status)
	}
}
