// Command testplugin is the external plugin the pluginhost tests install,
// upgrade, kill and starve of memory. Its version is set at build time
// (-ldflags "-X main.version=1.1.0"); with {"leak": true} as configuration
// it allocates memory until it is stopped.
package main

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"time"

	"github.com/atrium-portal/atrium/plugin"
)

var version = "1.0.0"

// apiVersions is the plugin-API range it declares (-X main.apiVersions=…).
var apiVersions = ">=1.0.0 <2.0.0"

type testPlugin struct{}

func (testPlugin) Info() plugin.Info {
	return plugin.Info{ID: "echo", Version: version, APIVersions: apiVersions, Description: "Echoes text; a test plugin.",
		ConfigSchema: json.RawMessage(`{"type":"object","properties":{"leak":{"type":"boolean"}},"additionalProperties":false}`)}
}

var leaked [][]byte

func (testPlugin) Provision(_ context.Context, _ plugin.Host, config json.RawMessage) error {
	var cfg struct {
		Leak bool `json:"leak"`
	}
	if len(config) > 0 {
		if err := json.Unmarshal(config, &cfg); err != nil {
			return plugin.Errorf(plugin.ErrInvalid, "config: %v", err)
		}
	}
	if cfg.Leak {
		go func() {
			for {
				b := make([]byte, 4<<20)
				for i := range b {
					b[i] = byte(i)
				}
				leaked = append(leaked, b)
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	return nil
}

func (testPlugin) Validate(context.Context) error { return nil }
func (testPlugin) Cleanup(context.Context) error  { return nil }
func (testPlugin) Components() plugin.Components {
	return plugin.Components{Actions: []plugin.Action{echo{}}}
}

type echo struct{}

func (echo) ID() string          { return "test:echo" }
func (echo) Description() string { return "Answers its input's text, after sleepMs." }
func (echo) Schema() (json.RawMessage, json.RawMessage) {
	return json.RawMessage(`{"type":"object","properties":{"text":{"type":"string"},"sleepMs":{"type":"integer"}}}`), nil
}

func (echo) Run(ctx context.Context, req plugin.ActionRequest, rep plugin.ActionReporter) error {
	ms, _ := req.Input["sleepMs"].(float64)
	select {
	case <-time.After(time.Duration(ms) * time.Millisecond):
	case <-ctx.Done():
		return ctx.Err()
	}
	text, _ := req.Input["text"].(string)
	rep.Output("text", text)
	rep.Output("version", version)
	rep.Output("pid", strconv.Itoa(os.Getpid()))
	return nil
}

func main() { plugin.Serve(testPlugin{}) }
