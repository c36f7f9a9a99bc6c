package config

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPluginHostSettings(t *testing.T) {
	cfg, err := LoadBytes("app-config.yaml", []byte(`atrium:
  dataDir: /var/lib/atrium
  pluginHost:
    registry: https://plugins.example.com/index.yaml
    allowedHosts: [plugins.example.com, "cdn.example.com:8443"]
    memoryLimit: 128MiB
    callTimeout: 5s
    restart: { initialBackoff: 500ms, maxBackoff: 30s, breakerThreshold: 3, breakerCooldown: { minutes: 2 } }
    unmaintainedAfter: P180D
    plugins:
      hello: { memoryLimit: 64MiB, callTimeout: 2s }
      legacy: { disabled: true }
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	h := cfg.Atrium.PluginHost
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"directory", h.Directory, filepath.Join("/var/lib/atrium", "plugins")},
		{"registry", h.Registry, "https://plugins.example.com/index.yaml"},
		{"allowedHosts", strings.Join(h.AllowedHosts, ","), "plugins.example.com,cdn.example.com:8443"},
		{"memoryLimit", h.MemoryLimit, int64(128 << 20)},
		{"callTimeout", h.CallTimeout, 5 * time.Second},
		{"startTimeout default", h.StartTimeout, 15 * time.Second},
		{"initialBackoff", h.Restart.InitialBackoff, 500 * time.Millisecond},
		{"breakerThreshold", h.Restart.BreakerThreshold, 3},
		{"breakerCooldown", h.Restart.BreakerCooldown, 2 * time.Minute},
		{"unmaintainedAfter", h.UnmaintainedAfter, 180 * 24 * time.Hour},
		{"hello memoryLimit", h.Plugins["hello"].MemoryLimit, int64(64 << 20)},
		{"hello callTimeout", h.Plugins["hello"].CallTimeout, 2 * time.Second},
		{"legacy disabled", h.Plugins["legacy"].Disabled, true},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}

	def, err := LoadBytes("empty.yaml", []byte("atrium: { dataDir: data }\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := def.Atrium.PluginHost; d.MemoryLimit != 256<<20 || d.UnmaintainedAfter != 365*24*time.Hour || d.Directory != filepath.Join("data", "plugins") {
		t.Errorf("defaults: %+v", d)
	}
}

func TestPluginHostErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"registry: http://plugins.example.com/index.yaml", `app-config.yaml:3: atrium.pluginHost.registry: must be a file path or an https:// URL, got "http://plugins.example.com/index.yaml"`},
		{"allowedHosts: [https://x.example.com/]", `atrium.pluginHost.allowedHosts[0]: must be a host name or host:port`},
		{"memoryLimit: 0", `app-config.yaml:3: atrium.pluginHost.memoryLimit: must be greater than 0`},
		{"memoryLimit: lots", `atrium.pluginHost.memoryLimit: must be a size such as 1048576 or "1MiB"`},
		{"callTimeout: 0s", `atrium.pluginHost.callTimeout: must be longer than zero`},
		{"restart: { initialBackoff: 2m, maxBackoff: 1m }", `atrium.pluginHost.restart.initialBackoff: must not exceed maxBackoff (1m0s)`},
		{"restart: { breakerThreshold: 0 }", `atrium.pluginHost.restart.breakerThreshold: must be between 1 and 1000, got 0`},
		{"plugins: { Hello: { disabled: true } }", `atrium.pluginHost.plugins.Hello: a plugin id is lower-case letters`},
		{"plugins: { hello: { memoryLimt: 1MiB } }", `atrium.pluginHost.plugins.hello.memoryLimt: unknown key (did you mean "memoryLimit"?)`},
		{"watchInterval: soon", `atrium.pluginHost.watchInterval: must be a duration`},
	} {
		_, err := LoadBytes("app-config.yaml", []byte("atrium:\n  pluginHost:\n    "+tc.yaml+"\n"), nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v\nwant %q", tc.yaml, err, tc.want)
		}
	}
}
