package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/atrium-portal/atrium/internal/pluginhost/guard"
	"github.com/atrium-portal/atrium/internal/pluginhost/rpc/wire"
)

// grpcServer answers the host's calls with a Plugin. Its service is
// described by hand in serviceDesc: every message is a BytesValue holding
// JSON (see package wire).
type grpcServer struct {
	p Plugin
	// id is the plugin's id, log its stderr logger (which go-plugin
	// forwards to Atrium's log): for the record of a panicking call.
	id  string
	log *slog.Logger

	mu    sync.Mutex
	index *componentIndex // nil until first needed; rebuilt on Components
}

func newGRPCServer(p Plugin) *grpcServer {
	s := &grpcServer{p: p, log: stderrLogger()}
	if err := guard.Call(s.log, "", "Info", func() error { s.id = p.Info().ID; return nil }); err != nil {
		s.id = "?"
	}
	return s
}

// guard runs one call of the host's (method names it) so that a panic in
// the plugin's code fails that call, as it would in-process (package
// guard): the host gets an internal error with a safe message, the panic
// and its stack go to the log, and the plugin goes on serving. Without
// it, gRPC's handler goroutine would end the plugin's process.
func (s *grpcServer) guard(method string, fn func() error) error {
	return guard.Call(s.log, s.id, method, fn)
}

// componentIndex finds a component by the id or name the host sends.
type componentIndex struct {
	actions     map[string]Action
	providers   map[string]EntityProvider
	processors  map[string]Processor
	cards       map[string]EntityCard
	subscribers map[string]EventSubscriber
	services    map[string]Service
}

func indexComponents(c Components) *componentIndex {
	ix := &componentIndex{
		actions:     map[string]Action{},
		providers:   map[string]EntityProvider{},
		processors:  map[string]Processor{},
		cards:       map[string]EntityCard{},
		subscribers: map[string]EventSubscriber{},
		services:    map[string]Service{},
	}
	for _, a := range c.Actions {
		ix.actions[a.ID()] = a
	}
	for _, p := range c.Providers {
		ix.providers[p.Name()] = p
	}
	for _, p := range c.Processors {
		ix.processors[p.Name()] = p
	}
	for _, card := range c.Cards {
		ix.cards[card.ID()] = card
	}
	for _, s := range c.Subscribers {
		ix.subscribers[s.Name()] = s
	}
	for _, s := range c.Services {
		ix.services[s.Name()] = s
	}
	return ix
}

func (s *grpcServer) components() *componentIndex {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.index == nil {
		s.index = indexComponents(s.p.Components())
	}
	return s.index
}

func lookup[T any](m map[string]T, what, name string) (T, error) {
	v, ok := m[name]
	if !ok {
		var zero T
		return zero, status.Errorf(codes.NotFound, "the plugin has no %s %q", what, name)
	}
	return v, nil
}

func (s *grpcServer) info(context.Context, *wire.Empty) (any, error) {
	return s.p.Info(), nil
}

func (s *grpcServer) provision(ctx context.Context, req *wire.ProvisionRequest) (any, error) {
	host := Host{Logger: stderrLogger().With("plugin", s.id), BaseURL: req.BaseURL, DataDir: req.DataDir,
		// A panic on a goroutine of the plugin's own is logged (to
		// Atrium's log, through stderr) and ends only that goroutine.
		Spawn: func(name string, fn func()) {
			go func() { _ = s.guard(name, func() error { fn(); return nil }) }()
		}}
	if err := s.p.Provision(ctx, host, req.Config); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.index = nil
	s.mu.Unlock()
	return wire.Empty{}, nil
}

func (s *grpcServer) validate(ctx context.Context, _ *wire.Empty) (any, error) {
	return wire.Empty{}, s.p.Validate(ctx)
}

func (s *grpcServer) describe(context.Context, *wire.Empty) (any, error) {
	c := s.p.Components()
	s.mu.Lock()
	s.index = indexComponents(c)
	s.mu.Unlock()
	d := wire.ComponentsResponse{Operations: true, CancelCause: true}
	for _, a := range c.Actions {
		in, out := a.Schema()
		d.Actions = append(d.Actions, wire.ActionDesc{ID: a.ID(), Description: a.Description(), Input: in, Output: out})
	}
	for _, p := range c.Providers {
		d.Providers = append(d.Providers, p.Name())
	}
	for _, p := range c.Processors {
		d.Processors = append(d.Processors, p.Name())
	}
	for _, card := range c.Cards {
		d.Cards = append(d.Cards, wire.CardDesc{ID: card.ID(), Title: card.Title(), Selector: card.Selector()})
	}
	for _, sub := range c.Subscribers {
		d.Subscribers = append(d.Subscribers, sub.Name())
	}
	for _, svc := range c.Services {
		d.Services = append(d.Services, svc.Name())
	}
	return d, nil
}

func (s *grpcServer) cleanup(ctx context.Context, _ *wire.Empty) (any, error) {
	return wire.Empty{}, s.p.Cleanup(ctx)
}

func (s *grpcServer) process(ctx context.Context, req *wire.ProcessRequest) (any, error) {
	p, err := lookup(s.components().processors, "processor", req.Processor)
	if err != nil {
		return nil, err
	}
	return p.Process(ctx, req.Entity)
}

func (s *grpcServer) renderCard(ctx context.Context, req *wire.CardRequest) (any, error) {
	c, err := lookup(s.components().cards, "entity card", req.Card)
	if err != nil {
		return nil, err
	}
	return c.Render(ctx, req.Entity)
}

func (s *grpcServer) event(req *wire.EventRequest) (EventSubscriber, Event, error) {
	sub, err := lookup(s.components().subscribers, "event subscriber", req.Subscriber)
	if err != nil {
		return nil, Event{}, err
	}
	var ev Event
	if err := json.Unmarshal(req.Event, &ev); err != nil {
		return nil, Event{}, status.Errorf(codes.InvalidArgument, "decoding the event: %v", err)
	}
	return sub, ev, nil
}

func (s *grpcServer) verifyEvent(ctx context.Context, req *wire.EventRequest) (any, error) {
	sub, ev, err := s.event(req)
	if err != nil {
		return nil, err
	}
	return wire.Empty{}, sub.Verify(ctx, ev)
}

func (s *grpcServer) handleEvent(ctx context.Context, req *wire.EventRequest) (any, error) {
	sub, ev, err := s.event(req)
	if err != nil {
		return nil, err
	}
	return wire.Empty{}, sub.Handle(ctx, ev)
}

func (s *grpcServer) runService(ctx context.Context, req *wire.ServiceRequest) (any, error) {
	svc, err := lookup(s.components().services, "service", req.Service)
	if err != nil {
		return nil, err
	}
	return wire.Empty{}, svc.Run(ctx)
}

// runAction streams the action's reports, then ends with its error.
func (s *grpcServer) runAction(stream grpc.ServerStream) error {
	var req wire.ActionRunRequest
	if err := recvJSON(stream, &req); err != nil {
		return err
	}
	a, err := lookup(s.components().actions, "action", req.Action)
	if err != nil {
		return err
	}
	var ar ActionRequest
	if err := json.Unmarshal(req.Request, &ar); err != nil {
		return status.Errorf(codes.InvalidArgument, "decoding the action request: %v", err)
	}
	// The action's context ends with the cause the host sends
	// (ActionReply.Cancel), or at the step's deadline, so that Abandoned
	// and context.Cause answer as in a built-in.
	ctx, cancel := context.WithCancelCause(stream.Context())
	defer cancel(nil)
	if req.Deadline != nil {
		var cancelDeadline context.CancelFunc
		ctx, cancelDeadline = context.WithDeadline(ctx, *req.Deadline)
		defer cancelDeadline()
	}
	rep := &streamReporter{stream: stream}
	ops := newStreamOperations(rep)
	go ops.receive(func(c *wire.ActionCancel) { cancel(causeOf(c)) })
	if req.Operations {
		ar.Operations = ops
	}
	if err := a.Run(ctx, ar, rep); err != nil {
		return toStatus(ctx, err)
	}
	return rep.err
}

// streamReporter sends an action's reports on its stream. A failed send
// (the host went away) is kept and ends the run's result.
type streamReporter struct {
	stream grpc.ServerStream
	mu     sync.Mutex
	err    error
}

func (r *streamReporter) send(ev wire.ActionEvent) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	m, err := wire.Encode(ev)
	if err == nil {
		err = r.stream.SendMsg(m)
	}
	r.err = err
	return err
}

func (r *streamReporter) Log(level, message string) {
	r.send(wire.ActionEvent{Log: &wire.LogEvent{Level: level, Message: message}})
}

func (r *streamReporter) Output(name string, value any) {
	b, err := json.Marshal(value)
	if err != nil {
		b, _ = json.Marshal(fmt.Sprintf("unencodable output %T: %v", value, err))
	}
	r.send(wire.ActionEvent{Output: &wire.OutputEvent{Name: name, Value: b}})
}

func (r *streamReporter) Progress(percent int, message string) {
	r.send(wire.ActionEvent{Progress: &wire.ProgressEvent{Percent: percent, Message: message}})
}

// runProvider runs a provider; each mutation waits for the host's ack.
func (s *grpcServer) runProvider(stream grpc.ServerStream) error {
	var open wire.ProviderOpen
	if err := recvJSON(stream, &open); err != nil {
		return err
	}
	p, err := lookup(s.components().providers, "entity provider", open.Provider)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	emit := func(ctx context.Context, m Mutation) error {
		mu.Lock()
		defer mu.Unlock()
		b, err := json.Marshal(m)
		if err != nil {
			return Errorf(ErrInvalid, "encoding the mutation: %w", err)
		}
		msg, err := wire.Encode(wire.ProviderMessage{Mutation: b})
		if err != nil {
			return err
		}
		if err := stream.SendMsg(msg); err != nil {
			return Errorf(ErrUnavailable, "sending the mutation to Atrium: %w", err)
		}
		var ack wire.ProviderAck
		if err := recvJSON(stream, &ack); err != nil {
			return Errorf(ErrUnavailable, "waiting for Atrium to apply the mutation: %w", err)
		}
		if ack.Error != "" {
			return &Error{Kind: ErrorKind(ack.Kind), Message: ack.Error}
		}
		return ctx.Err()
	}
	if err := p.Run(stream.Context(), emit); err != nil {
		return toStatus(stream.Context(), err)
	}
	return nil
}

// guardStream is guard for a streaming call: a panic ends the stream with
// the error.
func (s *grpcServer) guardStream(method string, st grpc.ServerStream, run func(grpc.ServerStream) error) error {
	err := s.guard(method, func() error { return run(st) })
	if guard.IsPanic(err) {
		return toStatus(st.Context(), err)
	}
	return err
}

func recvJSON(stream grpc.ServerStream, v any) error {
	m := new(wrapperspb.BytesValue)
	if err := stream.RecvMsg(m); err != nil {
		return err
	}
	if err := wire.Decode(m, v); err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	return nil
}

// codeOf maps an error kind to the gRPC code the host maps back.
var codeOf = map[ErrorKind]codes.Code{
	ErrInvalid:      codes.InvalidArgument,
	ErrNotFound:     codes.NotFound,
	ErrUnauthorized: codes.Unauthenticated,
	ErrForbidden:    codes.PermissionDenied,
	ErrConflict:     codes.FailedPrecondition,
	ErrUnavailable:  codes.Unavailable,
	ErrInternal:     codes.Unknown,
}

// toStatus turns a component's error into a gRPC status carrying its
// kind. A cancelled call stays cancelled, and a status error from this
// file (an unknown component, a malformed message) passes through.
func toStatus(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return status.FromContextError(ctx.Err()).Err()
	}
	var pe *Error
	if !errors.As(err, &pe) {
		if st, ok := status.FromError(err); ok {
			return st.Err()
		}
	}
	code, ok := codeOf[KindOf(err)]
	if !ok {
		code = codes.Unknown
	}
	return status.Error(code, err.Error())
}

func unaryMethod[Req any](name string, call func(*grpcServer, context.Context, *Req) (any, error)) grpc.MethodDesc {
	return grpc.MethodDesc{
		MethodName: name,
		Handler: func(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			in := new(wrapperspb.BytesValue)
			if err := dec(in); err != nil {
				return nil, err
			}
			req := new(Req)
			if err := wire.Decode(in, req); err != nil {
				return nil, status.Error(codes.InvalidArgument, err.Error())
			}
			s := srv.(*grpcServer)
			var out any
			err := s.guard(name, func() (err error) {
				out, err = call(s, ctx, req)
				return err
			})
			if err != nil {
				return nil, toStatus(ctx, err)
			}
			return wire.Encode(out)
		},
	}
}

// serviceDesc is the service written by hand, as protoc would generate it.
func serviceDesc() *grpc.ServiceDesc {
	return &grpc.ServiceDesc{
		ServiceName: wire.Service,
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{
			unaryMethod(wire.MethodInfo, (*grpcServer).info),
			unaryMethod(wire.MethodProvision, (*grpcServer).provision),
			unaryMethod(wire.MethodValidate, (*grpcServer).validate),
			unaryMethod(wire.MethodComponents, (*grpcServer).describe),
			unaryMethod(wire.MethodCleanup, (*grpcServer).cleanup),
			unaryMethod(wire.MethodProcess, (*grpcServer).process),
			unaryMethod(wire.MethodRenderCard, (*grpcServer).renderCard),
			unaryMethod(wire.MethodVerifyEvent, (*grpcServer).verifyEvent),
			unaryMethod(wire.MethodHandleEvent, (*grpcServer).handleEvent),
			unaryMethod(wire.MethodRunService, (*grpcServer).runService),
		},
		Streams: []grpc.StreamDesc{
			// Client-streaming too: the host answers plugin.Operations calls.
			{StreamName: wire.MethodRunAction, ServerStreams: true, ClientStreams: true, Handler: func(srv any, st grpc.ServerStream) error {
				s := srv.(*grpcServer)
				return s.guardStream(wire.MethodRunAction, st, s.runAction)
			}},
			{StreamName: wire.MethodRunProvider, ServerStreams: true, ClientStreams: true, Handler: func(srv any, st grpc.ServerStream) error {
				s := srv.(*grpcServer)
				return s.guardStream(wire.MethodRunProvider, st, s.runProvider)
			}},
		},
		Metadata: "atrium/plugin/v1 (hand-written; see internal/pluginhost/rpc/wire)",
	}
}
