package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/app"
	"github.com/atrium-portal/atrium/plugin"
)

// panickingService panics in its first run, then works until stopped.
type panickingService struct{ runs atomic.Int32 }

func (s *panickingService) Name() string { return "panicky" }
func (s *panickingService) Run(ctx context.Context) error {
	if s.runs.Add(1) == 1 {
		var m map[string]int
		m["boom"]++
	}
	<-ctx.Done()
	return nil
}

type panickingServicePlugin struct {
	fakePlugin
	svc *panickingService
}

func (p *panickingServicePlugin) Components() plugin.Components {
	return plugin.Components{Services: []plugin.Service{p.svc}}
}

// panickingProvision is an in-process plugin whose Provision panics.
type panickingProvision struct{ fakePlugin }

func (p *panickingProvision) Provision(context.Context, plugin.Host, json.RawMessage) error {
	panic("provisioning went wrong")
}

// panickingComponents is an in-process plugin whose Components panics.
type panickingComponents struct{ fakePlugin }

func (p *panickingComponents) Components() plugin.Components { panic("no components") }

// TestPluginPanics: an in-process plugin whose service panics has it run
// again after the backoff; one whose Provision or Components panics is
// left out, failed with the plugin and the call named; Atrium starts and
// serves. Without the recovers the panics end the test binary.
func TestPluginPanics(t *testing.T) {
	info := func(id string) plugin.Info { return plugin.Info{ID: id, Version: "1.0.0", APIVersions: "^1.0"} }
	svc := &panickingServicePlugin{fakePlugin: fakePlugin{info: info("svc-panic")}, svc: &panickingService{}}
	prov := &panickingProvision{fakePlugin{info: info("prov-panic")}}
	comps := &panickingComponents{fakePlugin{info: info("comps-panic")}}
	a, base := startWithPlugins(t, "", svc, prov, comps)

	deadline := time.Now().Add(time.Minute)
	for svc.svc.runs.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("service runs = %d after a minute, want it run again after its panic", svc.svc.runs.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
	got := map[string]app.PluginStatus{}
	for _, p := range a.Plugins() {
		got[p.ID] = p
	}
	for id, want := range map[string]string{
		"prov-panic":  "provision: plugin prov-panic: plugin prov-panic panicked in Provision",
		"comps-panic": "components: plugin comps-panic: plugin comps-panic panicked in Components",
	} {
		if p := got[id]; p.State != app.PluginFailed || !strings.Contains(p.Error, want) {
			t.Errorf("%s: %+v, want failed with %q", id, p, want)
		}
		if strings.Contains(got[id].Error, "went wrong") || strings.Contains(got[id].Error, "no components") {
			t.Errorf("%s: the panic's value is in the status: %q", id, got[id].Error)
		}
	}
	if got["svc-panic"].State != app.PluginRunning {
		t.Errorf("svc-panic: %+v, want running", got["svc-panic"])
	}
	if status, _ := (sclient{t: t, base: base}).do("GET", "/healthz", nil); status != 200 {
		t.Errorf("healthz: %d", status)
	}
}

// reprovisionPanic is an in-process plugin whose Provision panics from
// its second call on (a re-provisioning with a rotated secret).
type reprovisionPanic struct {
	fakePlugin
	calls atomic.Int32
}

func (p *reprovisionPanic) Provision(context.Context, plugin.Host, json.RawMessage) error {
	if p.calls.Add(1) > 1 {
		panic("the new token broke it")
	}
	return nil
}

// TestPluginReprovisionPanic: a plugin whose Provision panics when a
// rotated secret re-provisions it (on the secret refresher's goroutine)
// keeps running with the old configuration, like one whose Provision
// fails. Without the recover the panic ends the test binary.
func TestPluginReprovisionPanic(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("old-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &reprovisionPanic{fakePlugin: fakePlugin{info: plugin.Info{ID: "rot-panic", Version: "1.0.0", APIVersions: "^1.0",
		ConfigSchema: json.RawMessage(`{"type":"object","properties":{"token":{"type":"string"}}}`)}}}
	a, base := startWithPlugins(t, fmt.Sprintf("plugins:\n  rot-panic:\n    config: { token: '${file:%s}' }\n", tokenFile), p)
	if err := os.WriteFile(tokenFile, []byte("new-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if n := a.RefreshSecrets(context.Background()); n != 1 {
		t.Fatalf("refresh: %d secrets changed, want 1", n)
	}
	if got := p.calls.Load(); got != 2 {
		t.Errorf("Provision calls: got %d, want 2 (the rotation re-provisions)", got)
	}
	for _, st := range a.Plugins() {
		if st.ID == "rot-panic" && st.State != app.PluginRunning {
			t.Errorf("rot-panic: %+v, want still running", st)
		}
	}
	if status, _ := (sclient{t: t, base: base}).do("GET", "/healthz", nil); status != 200 {
		t.Errorf("healthz: %d", status)
	}
}

// panickingReader is a built-in-like plugin that reads the url locations
// of panic.example.com, and panics doing it.
type panickingReader struct {
	fakePlugin
	reads atomic.Int32
}

func (p *panickingReader) HandlesURL(target string) bool {
	return strings.HasPrefix(target, "https://panic.example.com/")
}

func (p *panickingReader) ReadURL(context.Context, string) ([]byte, error) {
	p.reads.Add(1)
	var m map[string]int
	m["boom"]++
	return nil, nil
}

// TestPluginURLReaderPanic: a plugin's url reader that panics while the
// engine reads a location (in the background) fails that read, which
// the location's status names; Atrium goes on. Without the recover the
// panic ends the test binary.
func TestPluginURLReaderPanic(t *testing.T) {
	p := &panickingReader{fakePlugin: fakePlugin{info: plugin.Info{ID: "reader-panic", Version: "1.0.0", APIVersions: "^1.0"}}}
	_, base := startWithPlugins(t, "catalog:\n  locations: [{ type: url, target: 'https://panic.example.com/catalog-info.yaml' }]\n", p)
	c := sclient{t: t, base: base}
	deadline := time.Now().Add(time.Minute)
	for {
		var ents []struct {
			Status *struct {
				Items []struct{ Message string } `json:"items"`
			} `json:"status"`
		}
		c.json("GET", "/api/catalog/entities?filter=kind=location", nil, 200, &ents)
		var msgs []string
		for _, e := range ents {
			if e.Status != nil {
				for _, it := range e.Status.Items {
					msgs = append(msgs, it.Message)
				}
			}
		}
		all := strings.Join(msgs, "\n")
		if strings.Contains(all, "plugin reader-panic panicked in ReadURL") {
			if strings.Contains(all, "nil map") {
				t.Errorf("the panic's value is in the location's status: %q", all)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a minute (reads: %d) the locations' status is %q, want the panic named", p.reads.Load(), all)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if status, _ := c.do("GET", "/healthz", nil); status != 200 {
		t.Errorf("healthz: %d", status)
	}
}
