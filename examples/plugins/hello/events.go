package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"

	"github.com/atrium-portal/atrium/plugin"
)

// TokenHeader carries the shared secret of the greetings webhook.
const TokenHeader = "X-Hello-Token"

// Greetings is the event subscriber greetings: POST
// /api/events/hello/<anything> with the header X-Hello-Token set to
// plugins.hello.config.webhookToken and a body {"name": "…"}.
type Greetings struct {
	token string
	log   func(msg string, args ...any)
}

var _ plugin.EventSubscriber = (*Greetings)(nil)

func (g *Greetings) Name() string { return "greetings" }

// Verify compares the token in constant time; without a configured token
// every event is refused.
func (g *Greetings) Verify(_ context.Context, ev plugin.Event) error {
	got := ev.Headers.Get(TokenHeader)
	if g.token == "" || subtle.ConstantTimeCompare([]byte(got), []byte(g.token)) != 1 {
		return plugin.Errorf(plugin.ErrUnauthorized, "the %s header does not hold the webhook token", TokenHeader)
	}
	return nil
}

func (g *Greetings) Handle(_ context.Context, ev plugin.Event) error {
	var body struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(ev.Body, &body); err != nil || body.Name == "" {
		return plugin.Errorf(plugin.ErrInvalid, `the body must be {"name": "…"} with a non-empty name`)
	}
	g.log("greeting received", "name", body.Name, "path", ev.Path)
	return nil
}
