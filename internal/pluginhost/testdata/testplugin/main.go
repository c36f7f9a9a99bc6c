// Command testplugin is the external plugin the pluginhost tests install,
// upgrade, kill and starve of memory. Its version is set at build time
// (-ldflags "-X main.version=1.1.0"); with {"leak": true} as configuration
// it allocates memory until it is stopped; test:echo answers the
// configuration's greeting, and panics with its input's "panic" when set.
package main

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/atrium-portal/atrium/plugin"
)

var version = "1.0.0"

// apiVersions is the plugin-API range it declares (-X main.apiVersions=…).
var apiVersions = ">=1.0.0 <2.0.0"

type testPlugin struct{}

func (testPlugin) Info() plugin.Info {
	return plugin.Info{ID: "echo", Version: version, APIVersions: apiVersions, Description: "Echoes text; a test plugin.",
		ConfigSchema: json.RawMessage(`{"type":"object","properties":{"leak":{"type":"boolean"},"greeting":{"type":"string"}},"additionalProperties":false}`)}
}

var leaked [][]byte

// greeting is the configuration's greeting (a secret in tests of
// rotation), answered by test:echo as its output "greeting".
var greeting string

func (testPlugin) Provision(_ context.Context, _ plugin.Host, config json.RawMessage) error {
	var cfg struct {
		Leak     bool   `json:"leak"`
		Greeting string `json:"greeting"`
	}
	if len(config) > 0 {
		if err := json.Unmarshal(config, &cfg); err != nil {
			return plugin.Errorf(plugin.ErrInvalid, "config: %v", err)
		}
	}
	greeting = cfg.Greeting
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

// Components depend on the major version, for tests of upgrades that
// change the set: 3.x also offers test:legacy; 4.x drops it and offers
// test:shout and the entity card "shout" instead.
func (testPlugin) Components() plugin.Components {
	c := plugin.Components{Actions: []plugin.Action{echo{}}}
	switch {
	case strings.HasPrefix(version, "3."):
		c.Actions = append(c.Actions, legacy{})
	case strings.HasPrefix(version, "4."):
		c.Actions = append(c.Actions, shout{})
		c.Cards = append(c.Cards, shoutCard{})
	}
	return c
}

type echo struct{}

func (echo) ID() string          { return "test:echo" }
func (echo) Description() string { return "Answers its input's text, after sleepMs." }
func (echo) Schema() (json.RawMessage, json.RawMessage) {
	return json.RawMessage(`{"type":"object","properties":{"text":{"type":"string"},"sleepMs":{"type":"integer"},"panic":{"type":"string"}}}`), nil
}

func (echo) Run(ctx context.Context, req plugin.ActionRequest, rep plugin.ActionReporter) error {
	if v, _ := req.Input["panic"].(string); v != "" {
		panic(v)
	}
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
	rep.Output("greeting", greeting)
	return nil
}

type legacy struct{}

func (legacy) ID() string          { return "test:legacy" }
func (legacy) Description() string { return "Does nothing; only version 3.x has it." }
func (legacy) Schema() (json.RawMessage, json.RawMessage) {
	return json.RawMessage(`{"type":"object"}`), nil
}
func (legacy) Run(context.Context, plugin.ActionRequest, plugin.ActionReporter) error { return nil }

type shout struct{}

func (shout) ID() string { return "test:shout" }
func (shout) Description() string {
	return "Answers its input's text in capitals; only version 4.x has it."
}
func (shout) Schema() (json.RawMessage, json.RawMessage) {
	return json.RawMessage(`{"type":"object","required":["text"],"properties":{"text":{"type":"string"}}}`), nil
}
func (shout) Run(_ context.Context, req plugin.ActionRequest, rep plugin.ActionReporter) error {
	text, _ := req.Input["text"].(string)
	rep.Output("text", strings.ToUpper(text))
	rep.Output("version", version)
	return nil
}

type shoutCard struct{}

func (shoutCard) ID() string       { return "shout" }
func (shoutCard) Title() string    { return "Shout" }
func (shoutCard) Selector() string { return "" }
func (shoutCard) Render(context.Context, json.RawMessage) (plugin.View, error) {
	return plugin.View{}, nil
}

func main() { plugin.Serve(testPlugin{}) }
