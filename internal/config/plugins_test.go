package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func loadYAML(t *testing.T, y string) (*Config, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "app-config.yaml")
	if err := os.WriteFile(p, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	return Load([]string{p}, map[string]string{"TOKEN": "from-env"})
}

func TestPluginsSection(t *testing.T) {
	cfg, err := loadYAML(t, `plugins:
  hello:
    enabled: true
    config:
      greeting: Howdy
      retries: 3
      ratio: 0.5
      verbose: false
      nothing: null
      token: ${TOKEN}
      hosts: [a, b]
      nested: { deep: { x: 1 } }
  scaffolder-builtin: { enabled: false }
  bare: {}
atrium:
  limits: { pluginCardTimeout: 750ms }
`)
	if err != nil {
		t.Fatal(err)
	}
	h := cfg.Plugins["hello"]
	if h.Enabled == nil || !*h.Enabled || h.Line != 3 {
		t.Errorf("hello: enabled %v, line %d", h.Enabled, h.Line)
	}
	want := `{"greeting":"Howdy","hosts":["a","b"],"nested":{"deep":{"x":1}},"nothing":null,"ratio":0.5,"retries":3,"token":"from-env","verbose":false}`
	if got := string(h.Config); got != want {
		t.Errorf("hello config:\n got %s\nwant %s", got, want)
	}
	if s := cfg.Plugins["scaffolder-builtin"]; s.Enabled == nil || *s.Enabled {
		t.Errorf("scaffolder-builtin: enabled %v, want false", s.Enabled)
	}
	if b, ok := cfg.Plugins["bare"]; !ok || b.Enabled != nil || b.Config != nil {
		t.Errorf("bare: %+v, %v", b, ok)
	}
	if got := cfg.Atrium.Limits.PluginCardTimeout; got != 750*time.Millisecond {
		t.Errorf("pluginCardTimeout = %s", got)
	}
}

func TestPluginsSectionErrors(t *testing.T) {
	for i, tc := range []struct {
		yaml string
		want []string
	}{
		{"plugins: [hello]\n", []string{"plugins: must be an object of plugin ids"}},
		{"plugins:\n  Hello_World: {}\n", []string{"plugins.Hello_World", "not a plugin id"}},
		{"plugins:\n  hello: { enabled: yes-please }\n", []string{"plugins.hello.enabled: must be true or false"}},
		{"plugins:\n  hello: { config: {}, colour: red }\n", []string{"plugins.hello.colour"}},
		{"atrium:\n  limits: { pluginCardTimeout: soon }\n", []string{"atrium.limits.pluginCardTimeout"}},
	} {
		_, err := loadYAML(t, tc.yaml)
		if err == nil {
			t.Errorf("%d: loaded", i)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%d: %q does not contain %q", i, err, w)
			}
		}
	}
}
