package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/pluginhost/rpc/wire"
	"github.com/atrium-portal/atrium/plugin"
)

// The gRPC clients of a plugin's components implement the SDK's interfaces.
var (
	_ plugin.Action          = (*actionClient)(nil)
	_ plugin.EntityProvider  = (*providerClient)(nil)
	_ plugin.Processor       = (*processorClient)(nil)
	_ plugin.EntityCard      = (*cardClient)(nil)
	_ plugin.EventSubscriber = (*subscriberClient)(nil)
	_ plugin.Service         = (*serviceClient)(nil)
)

var (
	actionStream   = &grpc.StreamDesc{StreamName: wire.MethodRunAction, ServerStreams: true}
	providerStream = &grpc.StreamDesc{StreamName: wire.MethodRunProvider, ServerStreams: true, ClientStreams: true}
)

type actionClient struct {
	c    *Client
	desc wire.ActionDesc
	// operations: the plugin answers OperationCall replies on the stream
	// (wire.ComponentsResponse.Operations).
	operations bool
	// cancelCause: the plugin ends the action's context with the cause
	// the host sends (wire.ComponentsResponse.CancelCause).
	cancelCause bool
}

func (a *actionClient) ID() string          { return a.desc.ID }
func (a *actionClient) Description() string { return a.desc.Description }
func (a *actionClient) Schema() (json.RawMessage, json.RawMessage) {
	return a.desc.Input, a.desc.Output
}

// Run streams the action's reports to rep until the plugin ends the run.
// When ctx ends, the plugin's ctx ends too: with the same cause
// (context.Cause; plugin.Abandoned) when the plugin knows how to receive
// it (cancelCause), and Run then waits, at most the call timeout, for the
// plugin to finish (to cancel its remote work, record the step's
// operation) as it would for a built-in action; otherwise the stream is
// cancelled at once.
func (a *actionClient) Run(ctx context.Context, req plugin.ActionRequest, rep plugin.ActionReporter) error {
	what := "running action " + a.desc.ID
	if err := a.c.alive(what); err != nil {
		return err
	}
	// sctx is the stream's context: ctx itself, or, when the cause is
	// sent, ctx without its cancellation, cancelled by the watcher below.
	parent := ctx
	if a.cancelCause {
		parent = context.WithoutCancel(ctx)
	}
	sctx, cancel := context.WithCancel(parent)
	defer cancel()
	if !a.operations {
		req.Operations = nil
	}
	body, err := json.Marshal(req)
	if err != nil {
		return fault.Wrap(fault.Invalid, err, "action %s: the request cannot be encoded", a.desc.ID)
	}
	desc := actionStream
	if req.Operations != nil || a.cancelCause {
		desc = actionRunStream
	}
	stream, err := a.c.conn.NewStream(sctx, desc, wire.FullMethod(wire.MethodRunAction))
	if err != nil {
		return a.c.fault(ctx, false, what, err)
	}
	run := wire.ActionRunRequest{Action: a.desc.ID, Request: body, Operations: req.Operations != nil}
	if d, ok := ctx.Deadline(); ok && a.cancelCause {
		run.Deadline = &d
	}
	msg, err := wire.Encode(run)
	if err != nil {
		return fault.Wrap(fault.Internal, err, "%s", what)
	}
	// Sends come from this goroutine (operation replies) and the
	// watcher (the cancel); gRPC allows one sender at a time.
	var sendMu sync.Mutex
	send := func(m *wrapperspb.BytesValue) error {
		sendMu.Lock()
		defer sendMu.Unlock()
		return stream.SendMsg(m)
	}
	if err := send(msg); err != nil && !errors.Is(err, io.EOF) {
		return a.c.fault(ctx, false, what, err)
	}
	if desc == actionStream {
		if err := stream.CloseSend(); err != nil {
			return a.c.fault(ctx, false, what, err)
		}
	}
	if a.cancelCause {
		done := make(chan struct{})
		defer close(done)
		go a.watchCancel(ctx, run.Deadline != nil, done, send, cancel)
	}
	for {
		m := new(wrapperspb.BytesValue)
		if err := stream.RecvMsg(m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return a.c.fault(ctx, false, what, err)
		}
		var ev wire.ActionEvent
		if err := wire.Decode(m, &ev); err != nil {
			return fault.Wrap(fault.Internal, err, "plugin %s: %s: a malformed report", a.c.name(), what)
		}
		switch {
		case ev.Log != nil:
			rep.Log(ev.Log.Level, ev.Log.Message)
		case ev.Output != nil:
			var v any
			if err := json.Unmarshal(ev.Output.Value, &v); err != nil {
				return fault.Wrap(fault.Internal, err, "plugin %s: %s: output %q is malformed", a.c.name(), what, ev.Output.Name)
			}
			rep.Output(ev.Output.Name, v)
		case ev.Progress != nil:
			rep.Progress(ev.Progress.Percent, ev.Progress.Message)
		case ev.Operation != nil && req.Operations != nil:
			// sctx: a cancelled action may still record its operation's
			// end (plugin.StepOperation.End), as a built-in can.
			reply, err := wire.Encode(answerOperation(sctx, req.Operations, ev.Operation))
			if err != nil {
				return fault.Wrap(fault.Internal, err, "%s", what)
			}
			if err := send(reply); err != nil && !errors.Is(err, io.EOF) {
				return a.c.fault(ctx, false, what, err)
			}
		}
	}
}

// watchCancel waits for ctx to end before the run does (done), sends the
// cause to the plugin, and cancels the stream (cancel) when the plugin has
// not finished within the call timeout. A deadline the plugin applies
// itself (hasDeadline) is not sent: its own timer ends its context with
// context.DeadlineExceeded, as in the host.
func (a *actionClient) watchCancel(ctx context.Context, hasDeadline bool, done <-chan struct{}, send func(*wrapperspb.BytesValue) error, cancel context.CancelFunc) {
	select {
	case <-done:
		return
	case <-ctx.Done():
	}
	cause := context.Cause(ctx)
	if !hasDeadline || !errors.Is(cause, context.DeadlineExceeded) || !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		if m, err := wire.Encode(wire.ActionReply{Cancel: cancelOf(cause)}); err == nil {
			_ = send(m)
		}
	}
	t := time.NewTimer(a.c.callTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		cancel()
	}
}

type providerClient struct {
	c    *Client
	name string
}

func (p *providerClient) Name() string { return p.name }

// Run receives the provider's mutations and acknowledges each after emit
// returns, until the plugin ends the run or ctx is done.
func (p *providerClient) Run(ctx context.Context, emit func(context.Context, plugin.Mutation) error) error {
	what := "running entity provider " + p.name
	if err := p.c.alive(what); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := p.c.conn.NewStream(ctx, providerStream, wire.FullMethod(wire.MethodRunProvider))
	if err != nil {
		return p.c.fault(ctx, false, what, err)
	}
	open, err := wire.Encode(wire.ProviderOpen{Provider: p.name})
	if err != nil {
		return fault.Wrap(fault.Internal, err, "%s", what)
	}
	if err := stream.SendMsg(open); err != nil && !errors.Is(err, io.EOF) {
		return p.c.fault(ctx, false, what, err)
	}
	for {
		m := new(wrapperspb.BytesValue)
		if err := stream.RecvMsg(m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return p.c.fault(ctx, false, what, err)
		}
		var pm wire.ProviderMessage
		var mut plugin.Mutation
		err := wire.Decode(m, &pm)
		if err == nil {
			err = json.Unmarshal(pm.Mutation, &mut)
		}
		var ack wire.ProviderAck
		if err != nil {
			ack = wire.ProviderAck{Error: "malformed mutation: " + err.Error(), Kind: string(plugin.ErrInvalid)}
		} else if err := emit(ctx, mut); err != nil {
			ack = wire.ProviderAck{Error: fault.MessageOf(err), Kind: string(ackKind(err))}
			if fault.MessageOf(err) == "internal error" {
				ack.Error = err.Error()
			}
		}
		msg, err := wire.Encode(ack)
		if err != nil {
			return fault.Wrap(fault.Internal, err, "%s", what)
		}
		if err := stream.SendMsg(msg); err != nil && !errors.Is(err, io.EOF) {
			return p.c.fault(ctx, false, what, err)
		}
	}
}

// ackKind is the plugin error kind of a host error.
func ackKind(err error) plugin.ErrorKind {
	for pk, fk := range faultKinds {
		if fault.Is(err, fk) {
			return pk
		}
	}
	return plugin.KindOf(err)
}

type processorClient struct {
	c    *Client
	name string
}

func (p *processorClient) Name() string { return p.name }

func (p *processorClient) Process(ctx context.Context, entity json.RawMessage) (plugin.ProcessResult, error) {
	var res plugin.ProcessResult
	err := p.c.unary(ctx, wire.MethodProcess, "processor "+p.name, wire.ProcessRequest{Processor: p.name, Entity: entity}, &res)
	return res, err
}

type cardClient struct {
	c    *Client
	desc wire.CardDesc
}

func (cc *cardClient) ID() string       { return cc.desc.ID }
func (cc *cardClient) Title() string    { return cc.desc.Title }
func (cc *cardClient) Selector() string { return cc.desc.Selector }

func (cc *cardClient) Render(ctx context.Context, entity json.RawMessage) (plugin.View, error) {
	var v plugin.View
	err := cc.c.unary(ctx, wire.MethodRenderCard, "rendering card "+cc.desc.ID, wire.CardRequest{Card: cc.desc.ID, Entity: entity}, &v)
	return v, err
}

type subscriberClient struct {
	c    *Client
	name string
}

func (s *subscriberClient) Name() string { return s.name }

func (s *subscriberClient) Verify(ctx context.Context, ev plugin.Event) error {
	return s.event(ctx, wire.MethodVerifyEvent, "verifying an event for "+s.name, ev)
}

func (s *subscriberClient) Handle(ctx context.Context, ev plugin.Event) error {
	return s.event(ctx, wire.MethodHandleEvent, "handling an event for "+s.name, ev)
}

func (s *subscriberClient) event(ctx context.Context, method, what string, ev plugin.Event) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return fault.Wrap(fault.Invalid, err, "%s: the event cannot be encoded", what)
	}
	return s.c.unary(ctx, method, what, wire.EventRequest{Subscriber: s.name, Event: body}, nil)
}

type serviceClient struct {
	c    *Client
	name string
}

func (s *serviceClient) Name() string { return s.name }

// Run blocks until the plugin's service returns or ctx is done.
func (s *serviceClient) Run(ctx context.Context) error {
	return s.c.call(ctx, false, wire.MethodRunService, "running service "+s.name, wire.ServiceRequest{Service: s.name}, nil)
}
