package rpc_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/plugin"
	"github.com/atrium-portal/atrium/plugin/plugintest"
)

// causeRecorder is a plugin whose action waits for its context to end and
// reports what a built-in would see: the error, the cause and Abandoned;
// then, like a step that keeps an operation (plugin.StepOperation.End), it
// records the operation's end through the host.
type causeRecorder struct {
	started chan struct{}
	saw     chan sawCancel
}

type sawCancel struct {
	err, cause error
	abandoned  bool
	opErr      error
}

func (p *causeRecorder) Info() plugin.Info {
	return plugin.Info{ID: "cause", Version: "0.1.0", APIVersions: "^1.0"}
}
func (p *causeRecorder) Provision(context.Context, plugin.Host, json.RawMessage) error { return nil }
func (p *causeRecorder) Validate(context.Context) error                                { return nil }
func (p *causeRecorder) Cleanup(context.Context) error                                 { return nil }
func (p *causeRecorder) Components() plugin.Components {
	return plugin.Components{Actions: []plugin.Action{causeAction{p}}}
}

type causeAction struct{ p *causeRecorder }

func (a causeAction) ID() string                                 { return "cause:wait" }
func (a causeAction) Description() string                        { return "Waits for its context to end." }
func (a causeAction) Schema() (json.RawMessage, json.RawMessage) { return nil, nil }
func (a causeAction) Run(ctx context.Context, req plugin.ActionRequest, _ plugin.ActionReporter) error {
	a.p.started <- struct{}{}
	<-ctx.Done()
	s := sawCancel{err: ctx.Err(), cause: context.Cause(ctx), abandoned: plugin.Abandoned(ctx)}
	if req.Operations != nil {
		// After the cancel, as StepOperation.End does.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		_, _, s.opErr = req.Operations.Begin(wctx, plugin.OperationStart{Kind: "job", System: "test"})
		cancel()
	}
	a.p.saw <- s
	return ctx.Err()
}

// fakeOperations answers plugin.Operations calls as the host's store would.
type fakeOperations struct{}

func (fakeOperations) Begin(ctx context.Context, s plugin.OperationStart) (plugin.Operation, bool, error) {
	if err := ctx.Err(); err != nil {
		return plugin.Operation{}, false, err
	}
	return plugin.Operation{ID: "op-1", Kind: s.Kind, System: s.System, State: plugin.OperationPending}, false, nil
}
func (fakeOperations) Update(ctx context.Context, id string, u plugin.OperationUpdate) (plugin.Operation, error) {
	return plugin.Operation{ID: id, State: u.State}, ctx.Err()
}
func (fakeOperations) Get(ctx context.Context, id string) (plugin.Operation, error) {
	return plugin.Operation{ID: id}, ctx.Err()
}

// TestCancelCauseCrossesGRPC: an action sees the same context error, cause
// (context.Cause) and plugin.Abandoned whether it runs built in or in a
// plugin process: a task cancelled by a person, a step that timed out, a
// shutdown (River's own cause) and a plain cancel. After the cancel it can
// still record its operation through the host, as a built-in can.
func TestCancelCauseCrossesGRPC(t *testing.T) {
	stop := errors.New("stop initiated") // River's shutdown cause
	byUser := errors.Join(errors.New("task cancelled by user:default/ada"), plugin.ErrTaskCancelled)
	tests := []struct {
		name          string
		ctx           func() (context.Context, func())
		wantErr       error
		wantCause     error
		wantCauseText string
		wantAbandoned bool
	}{
		{"task cancelled", func() (context.Context, func()) {
			ctx, cancel := context.WithCancelCause(context.Background())
			return ctx, func() { cancel(plugin.ErrTaskCancelled) }
		}, context.Canceled, plugin.ErrTaskCancelled, "task cancelled", true},
		{"task cancelled by a named user", func() (context.Context, func()) {
			ctx, cancel := context.WithCancelCause(context.Background())
			return ctx, func() { cancel(byUser) }
		}, context.Canceled, plugin.ErrTaskCancelled, byUser.Error(), true},
		{"step timed out", func() (context.Context, func()) {
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			t.Cleanup(cancel)
			return ctx, func() {}
		}, context.DeadlineExceeded, context.DeadlineExceeded, "context deadline exceeded", true},
		{"shutdown", func() (context.Context, func()) {
			ctx, cancel := context.WithCancelCause(context.Background())
			return ctx, func() { cancel(stop) }
		}, context.Canceled, nil, "stop initiated", false},
		{"plain cancel", func() (context.Context, func()) {
			ctx, cancel := context.WithCancel(context.Background())
			return ctx, cancel
		}, context.Canceled, context.Canceled, "context canceled", false},
	}
	rec := &causeRecorder{started: make(chan struct{}, 1), saw: make(chan sawCancel, 1)}
	plugintest.Both(t, rec, func(t *testing.T, p plugin.Plugin) {
		a := plugintest.FindAction(t, p, "cause:wait")
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ctx, cancel := tt.ctx()
				errc := make(chan error, 1)
				go func() {
					errc <- a.Run(ctx, plugin.ActionRequest{Workspace: t.TempDir(), Operations: fakeOperations{}}, &logReporter{lines: make(chan string, 8)})
				}()
				select {
				case <-rec.started:
				case <-time.After(5 * time.Second):
					t.Fatal("the action did not start")
				}
				cancel()
				var s sawCancel
				select {
				case s = <-rec.saw:
				case <-time.After(5 * time.Second):
					t.Fatal("the action's context did not end")
				}
				if !errors.Is(s.err, tt.wantErr) {
					t.Errorf("ctx.Err(): got %v, want %v", s.err, tt.wantErr)
				}
				if tt.wantCause != nil && !errors.Is(s.cause, tt.wantCause) {
					t.Errorf("context.Cause: got %v, want %v", s.cause, tt.wantCause)
				}
				if s.cause == nil || s.cause.Error() != tt.wantCauseText {
					t.Errorf("context.Cause text: got %v, want %q", s.cause, tt.wantCauseText)
				}
				if s.abandoned != tt.wantAbandoned {
					t.Errorf("Abandoned: got %v, want %v", s.abandoned, tt.wantAbandoned)
				}
				if s.opErr != nil {
					t.Errorf("recording the operation after the cancel: %v", s.opErr)
				}
				select {
				case err := <-errc:
					if !errors.Is(err, tt.wantErr) {
						t.Errorf("Run: got %v, want %v", err, tt.wantErr)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("Run did not return")
				}
			})
		}
	})
}
