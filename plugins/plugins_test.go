package plugins_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/scaffolder/actions"
	"github.com/atrium-portal/atrium/plugin"
	"github.com/atrium-portal/atrium/plugin/plugintest"
	"github.com/atrium-portal/atrium/plugins"
)

func TestBuiltinTable(t *testing.T) {
	seen := map[string]bool{}
	for _, b := range plugins.Builtins() {
		if seen[b.ID] {
			t.Errorf("built-in %s is listed twice", b.ID)
		}
		seen[b.ID] = true
		p := b.New(plugins.Deps{})
		info := p.Info()
		if info.ID != b.ID {
			t.Errorf("built-in %s: Info().ID = %q", b.ID, info.ID)
		}
		if err := plugin.SupportsAPI(info); err != nil {
			t.Errorf("built-in %s: %v", b.ID, err)
		}
	}
}

// TestScaffolderBuiltin runs a built-in action through the plugin
// interface, in-process and over gRPC.
func TestScaffolderBuiltin(t *testing.T) {
	plugintest.Both(t, plugins.NewScaffolderBuiltin(actions.Deps{}), func(t *testing.T, p plugin.Plugin) {
		plugintest.Provision(t, p, nil)
		var ids []string
		for _, a := range p.Components().Actions {
			ids = append(ids, a.ID())
		}
		for _, want := range []string{"fetch:template", "fs:delete", "debug:log", "catalog:register"} {
			if !strings.Contains(strings.Join(ids, " "), want) {
				t.Errorf("actions %v lack %s", ids, want)
			}
		}
		res := plugintest.RunAction(t, p, "fs:rename", map[string]any{"files": []any{map[string]any{"from": "a.txt", "to": "b.txt"}}})
		if res.Err == nil {
			t.Fatalf("fs:rename of a missing file succeeded")
		}
		ws := t.TempDir()
		if err := os.WriteFile(ws+"/a.txt", []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		res = plugintest.RunActionRequest(t, p, "fs:rename", plugin.ActionRequest{Workspace: ws, Input: map[string]any{"files": []any{map[string]any{"from": "a.txt", "to": "b.txt"}}}})
		if res.Err != nil {
			t.Fatalf("fs:rename: %v", res.Err)
		}
		if _, err := os.Stat(ws + "/b.txt"); err != nil {
			t.Errorf("b.txt: %v", err)
		}
	})
}

func TestValidateConfig(t *testing.T) {
	schema := json.RawMessage(`{"type":"object","additionalProperties":false,"required":["url"],
		"properties":{"url":{"type":"string","format":"uri"},"retries":{"type":"integer","minimum":0},"tls":{"type":"object","properties":{"verify":{"type":"boolean"}}}}}`)
	info := plugin.Info{ID: "demo", ConfigSchema: schema}
	for i, tc := range []struct {
		config string
		want   []string // substrings of the error; none: valid
	}{
		{`{"url":"https://x.test","retries":2}`, nil},
		{``, []string{"plugins.demo.config: missing property 'url'"}},
		{`{"url":"https://x.test","retries":-1}`, []string{"plugins.demo.config.retries:", "minimum"}},
		{`{"url":"https://x.test","tls":{"verify":"yes"}}`, []string{"plugins.demo.config.tls.verify:", "boolean"}},
		{`{"url":"https://x.test","colour":"red"}`, []string{"plugins.demo.config:", "colour"}},
	} {
		err := plugins.ValidateConfig(info, json.RawMessage(tc.config))
		if len(tc.want) == 0 {
			if err != nil {
				t.Errorf("%d: %v", i, err)
			}
			continue
		}
		if !fault.Is(err, fault.Invalid) {
			t.Errorf("%d: err = %v, want Invalid", i, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(fault.MessageOf(err), w) {
				t.Errorf("%d: %q does not contain %q", i, fault.MessageOf(err), w)
			}
		}
	}
	if err := plugins.ValidateConfig(plugin.Info{ID: "bare"}, json.RawMessage(`{"x":1}`)); !fault.Is(err, fault.Invalid) || !strings.Contains(fault.MessageOf(err), "plugins.bare.config: plugin bare takes no configuration") {
		t.Errorf("schema-less plugin with configuration: %v", err)
	}
	if err := plugins.ValidateConfig(plugin.Info{ID: "bare"}, nil); err != nil {
		t.Errorf("schema-less plugin without configuration: %v", err)
	}
}
