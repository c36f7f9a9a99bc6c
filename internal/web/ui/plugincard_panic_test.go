package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/plugin"
)

type panickingCard struct{}

func (panickingCard) ID() string       { return "boom" }
func (panickingCard) Title() string    { return "Boom" }
func (panickingCard) Selector() string { return "" }
func (panickingCard) Render(context.Context, json.RawMessage) (plugin.View, error) {
	panic("nil map in the card (token=s3cret)")
}

// TestPluginCardPanic: a built-in plugin's card that panics fails alone,
// with the generic notice (the panic value stays in the log); the page's
// other cards render and the process goes on. Without the recover the
// panic ends the test binary.
func TestPluginCardPanic(t *testing.T) {
	var logs bytes.Buffer
	u := &UI{p: Params{Cards: func() []PluginCard {
		return []PluginCard{
			{PluginID: "boom", Card: panickingCard{}},
			{PluginID: "ci", Card: &fakeCard{view: plugin.View{Blocks: []plugin.Block{{Markdown: "fine"}}}}},
		}
	}, Limits: Limits{CardTimeout: 2 * time.Second}}, log: slog.New(slog.NewJSONHandler(&logs, nil))}
	cards := u.entityPluginCards(context.Background(), &catalog.Entity{Kind: "Component", Metadata: catalog.Metadata{Name: "svc"}})
	if len(cards) != 2 {
		t.Fatalf("got %d cards, want 2", len(cards))
	}
	if got, want := cards[0].Error, "The boom plugin could not draw this card."; got != want {
		t.Errorf("panicking card: got %q, want %q", got, want)
	}
	if cards[1].Error != "" || len(cards[1].Blocks) != 1 {
		t.Errorf("the other card: got error %q, %d blocks, want it drawn", cards[1].Error, len(cards[1].Blocks))
	}
	if !strings.Contains(logs.String(), "s3cret") || !strings.Contains(logs.String(), "goroutine") {
		t.Errorf("the panic and its stack are not logged: %s", logs.String())
	}
}
