package plugin_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/plugin"
	"github.com/atrium-portal/atrium/plugin/plugintest"
)

// panicky is a plugin whose Validate and entity card panic.
type panicky struct{}

func (panicky) Info() plugin.Info {
	return plugin.Info{ID: "panicky", Version: "1.0.0", APIVersions: ">=1.0.0 <2.0.0"}
}
func (panicky) Provision(context.Context, plugin.Host, json.RawMessage) error { return nil }
func (panicky) Validate(context.Context) error                                { panic("validate: secret-value") }
func (panicky) Cleanup(context.Context) error                                 { return nil }
func (panicky) Components() plugin.Components {
	return plugin.Components{Cards: []plugin.EntityCard{panickyCard{}}}
}

type panickyCard struct{}

func (panickyCard) ID() string       { return "boom" }
func (panickyCard) Title() string    { return "Boom" }
func (panickyCard) Selector() string { return "" }
func (panickyCard) Render(_ context.Context, entity json.RawMessage) (plugin.View, error) {
	if strings.Contains(string(entity), "boom") {
		panic("render: secret-value")
	}
	return plugin.View{Blocks: []plugin.Block{{Markdown: "fine"}}}, nil
}

// TestGRPCServerRecoversPanics calls a plugin over gRPC whose unary
// handlers panic: each call fails with an internal error whose message
// names the plugin and the call but not the panic's value, and the
// server answers the next call.
func TestGRPCServerRecoversPanics(t *testing.T) {
	c := plugintest.GRPC(t, panicky{})
	err := c.Validate(context.Background())
	wantPanicError(t, "Validate", err)
	_, err = plugintest.RenderCard(t, c, "boom", map[string]any{"kind": "boom"})
	wantPanicError(t, "RenderCard", err)
	view, err := plugintest.RenderCard(t, c, "boom", map[string]any{"kind": "Component"})
	if err != nil || len(view.Blocks) != 1 || view.Blocks[0].Markdown != "fine" {
		t.Errorf("RenderCard after the panics: got %+v, %v; want the card", view, err)
	}
}

func wantPanicError(t *testing.T, call string, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: got no error, want the panic's", call)
	}
	if got := plugin.KindOf(err); got != plugin.ErrInternal {
		t.Errorf("%s: got kind %s, want %s", call, got, plugin.ErrInternal)
	}
	if msg := err.Error(); !strings.Contains(msg, "plugin panicky panicked in "+call) || strings.Contains(msg, "secret-value") {
		t.Errorf("%s: got message %q, want one naming the plugin and the call, without the panic's value", call, msg)
	}
}
