package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/atrium-portal/atrium/plugin"
)

// configSchema is the JSON Schema of plugins.hello.config.
const configSchema = `{
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "greeting": {"type": "string", "minLength": 1, "description": "word the greeting starts with"},
    "owner": {"type": "string", "minLength": 1, "description": "owner of the entities the provider emits"},
    "refresh": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$", "description": "how often the provider emits a delta"},
    "webhookToken": {"type": "string", "minLength": 8, "description": "shared secret of the greetings webhook (X-Hello-Token)"}
  }
}`

// Config is the plugin's configuration.
type Config struct {
	Greeting string `json:"greeting"`
	Owner    string `json:"owner"`
	Refresh  string `json:"refresh"`
	// WebhookToken is the greetings webhook's secret; empty refuses all.
	WebhookToken string `json:"webhookToken"`
}

// Hello is the plugin.
type Hello struct {
	cfg     Config
	refresh time.Duration
	log     *slog.Logger
}

var _ plugin.Plugin = (*Hello)(nil)

// New returns an unprovisioned plugin.
func New() *Hello { return &Hello{} }

func (h *Hello) Info() plugin.Info {
	return plugin.Info{
		ID:           "hello",
		Version:      "1.0.0",
		APIVersions:  ">=1.0.0 <2.0.0",
		Description:  "Greets people, provides greeter components and shows a greeting card.",
		ConfigSchema: json.RawMessage(configSchema),
		Permissions:  []string{"catalog.entity.read"},
	}
}

func (h *Hello) Provision(_ context.Context, host plugin.Host, config json.RawMessage) error {
	cfg := Config{Greeting: "Hello", Owner: "group:default/guests", Refresh: "1m"}
	if len(config) > 0 {
		if err := json.Unmarshal(config, &cfg); err != nil {
			return plugin.Errorf(plugin.ErrInvalid, "plugins.hello.config: %v", err)
		}
	}
	d, err := time.ParseDuration(cfg.Refresh)
	if err != nil {
		return plugin.Errorf(plugin.ErrInvalid, "plugins.hello.config.refresh: %v", err)
	}
	h.cfg, h.refresh = cfg, d
	h.log = host.Logger
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return nil
}

func (h *Hello) Validate(context.Context) error {
	if h.refresh < 10*time.Millisecond {
		return plugin.Errorf(plugin.ErrInvalid, "plugins.hello.config.refresh: %s is too short (at least 10ms)", h.refresh)
	}
	return nil
}

func (h *Hello) Components() plugin.Components {
	return plugin.Components{
		Actions:     []plugin.Action{&Greet{greeting: h.cfg.Greeting}},
		Providers:   []plugin.EntityProvider{&Greeters{owner: h.cfg.Owner, every: h.refresh}},
		Cards:       []plugin.EntityCard{&GreetingCard{greeting: h.cfg.Greeting}},
		Subscribers: []plugin.EventSubscriber{&Greetings{token: h.cfg.WebhookToken, log: h.log.Info}},
	}
}

func (h *Hello) Cleanup(context.Context) error { return nil }
