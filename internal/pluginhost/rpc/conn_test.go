package rpc_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/plugin"
	"github.com/atrium-portal/atrium/plugin/plugintest"
)

// blocker is a plugin whose action and card block until their context
// ends, and report that they saw it.
type blocker struct {
	started chan struct{}
	sawDone chan error
}

func newBlocker() *blocker {
	return &blocker{started: make(chan struct{}, 4), sawDone: make(chan error, 4)}
}

func (b *blocker) Info() plugin.Info {
	return plugin.Info{ID: "blocker", Version: "0.1.0", APIVersions: "^1.0"}
}
func (b *blocker) Provision(context.Context, plugin.Host, json.RawMessage) error { return nil }
func (b *blocker) Validate(context.Context) error                                { return nil }
func (b *blocker) Cleanup(context.Context) error                                 { return nil }
func (b *blocker) Components() plugin.Components {
	return plugin.Components{Actions: []plugin.Action{blockAction{b}}, Cards: []plugin.EntityCard{blockCard{b}}}
}

type blockAction struct{ b *blocker }

func (a blockAction) ID() string                                 { return "block:wait" }
func (a blockAction) Description() string                        { return "Waits for its context to end." }
func (a blockAction) Schema() (json.RawMessage, json.RawMessage) { return nil, nil }
func (a blockAction) Run(ctx context.Context, _ plugin.ActionRequest, rep plugin.ActionReporter) error {
	rep.Log("info", "waiting")
	a.b.started <- struct{}{}
	<-ctx.Done()
	a.b.sawDone <- ctx.Err()
	return ctx.Err()
}

type blockCard struct{ b *blocker }

func (c blockCard) ID() string       { return "slow" }
func (c blockCard) Title() string    { return "Slow" }
func (c blockCard) Selector() string { return "" }
func (c blockCard) Render(ctx context.Context, _ json.RawMessage) (plugin.View, error) {
	<-ctx.Done()
	c.b.sawDone <- ctx.Err()
	return plugin.View{}, ctx.Err()
}

// TestCancelPropagatesOverGRPC: cancelling the caller's context ends the
// plugin's ctx on the other side of the connection.
func TestCancelPropagatesOverGRPC(t *testing.T) {
	b := newBlocker()
	c := plugintest.GRPC(t, b)
	a := plugintest.FindAction(t, c, "block:wait")
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	rep := &logReporter{lines: make(chan string, 4)}
	go func() { errc <- a.Run(ctx, plugin.ActionRequest{Workspace: t.TempDir()}, rep) }()
	select {
	case line := <-rep.lines:
		if line != "info: waiting" {
			t.Errorf("log line = %q, want %q", line, "info: waiting")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the action's log line did not arrive")
	}
	cancel()
	select {
	case err := <-b.sawDone:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the plugin's ctx ended with %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the plugin's ctx was not cancelled")
	}
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
}

// TestCallTimeout: a unary call that gets no answer fails with
// Unavailable after the call timeout, and the plugin's ctx ends too.
func TestCallTimeout(t *testing.T) {
	b := newBlocker()
	c := plugintest.GRPCWith(t, b, 300*time.Millisecond)
	start := time.Now()
	_, err := plugintest.RenderCard(t, c, "slow", map[string]any{"kind": "Component"})
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the call took %s, want about the 300ms timeout", d)
	}
	if !fault.Is(err, fault.Unavailable) || !strings.Contains(fault.MessageOf(err), "did not answer within 300ms") {
		t.Errorf("err = %v, want Unavailable saying it did not answer within 300ms", err)
	}
	select {
	case <-b.sawDone:
	case <-time.After(5 * time.Second):
		t.Error("the plugin's ctx did not end after the timeout")
	}
}

// logReporter hands log lines to the test as they arrive.
type logReporter struct{ lines chan string }

func (r *logReporter) Log(level, message string) { r.lines <- level + ": " + message }
func (r *logReporter) Output(string, any)        {}
func (r *logReporter) Progress(int, string)      {}

// bigProvider emits one full mutation of about 6 MiB, over gRPC's
// default 4 MiB message limit.
type bigProvider struct{}

func (bigProvider) Name() string { return "big" }
func (bigProvider) Run(ctx context.Context, emit func(context.Context, plugin.Mutation) error) error {
	pad := strings.Repeat("x", 2000)
	m := plugin.Mutation{Type: plugin.MutationFull}
	for i := range 3000 {
		m.Entities = append(m.Entities, json.RawMessage(fmt.Sprintf(`{"kind":"Component","metadata":{"name":"c%d","description":%q}}`, i, pad)))
	}
	if err := emit(ctx, m); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

type bigPlugin struct{ blocker }

func (bigPlugin) Info() plugin.Info {
	return plugin.Info{ID: "big", Version: "0.1.0", APIVersions: "^1.0"}
}
func (bigPlugin) Components() plugin.Components {
	return plugin.Components{Providers: []plugin.EntityProvider{bigProvider{}}}
}

func TestLargeMutation(t *testing.T) {
	c := plugintest.GRPC(t, &bigPlugin{})
	muts := plugintest.Mutations(t, c, "big", 1, 10*time.Second)
	if got := len(muts[0].Entities); got != 3000 {
		t.Errorf("entities = %d, want 3000", got)
	}
}
