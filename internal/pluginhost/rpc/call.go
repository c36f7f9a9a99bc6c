package rpc

import (
	"context"
	"errors"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/pluginhost/rpc/wire"
	"github.com/atrium-portal/atrium/plugin"
)

// unary calls method with in and decodes the answer into out (nil: ignore
// it), within the call timeout. what names the call in errors.
func (c *Client) unary(ctx context.Context, method, what string, in, out any) error {
	return c.call(ctx, true, method, what, in, out)
}

func (c *Client) call(ctx context.Context, bounded bool, method, what string, in, out any) error {
	if err := c.alive(what); err != nil {
		return err
	}
	if bounded {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.callTimeout)
		defer cancel()
	}
	req, err := wire.Encode(in)
	if err != nil {
		return fault.Wrap(fault.Internal, err, "plugin %s: %s", c.name(), what)
	}
	resp := new(wrapperspb.BytesValue)
	if err := c.conn.Invoke(ctx, wire.FullMethod(method), req, resp); err != nil {
		return c.fault(ctx, bounded, what, err)
	}
	if out == nil {
		return nil
	}
	if err := wire.Decode(resp, out); err != nil {
		return fault.Wrap(fault.Internal, err, "plugin %s: %s: the answer is malformed", c.name(), what)
	}
	return nil
}

// alive fails fast when the process has exited.
func (c *Client) alive(what string) error {
	if c.Exited() {
		cause := &plugin.Error{Kind: plugin.ErrUnavailable, Message: "the plugin process has exited"}
		return fault.Wrap(fault.Unavailable, cause, "plugin %s is not running (its process exited): %s failed", c.name(), what)
	}
	return nil
}

func (c *Client) name() string {
	if c.info.ID != "" {
		return c.info.ID
	}
	return "(starting)"
}

// kindOfCode maps the gRPC codes the plugin side sends (plugin.codeOf)
// back to error kinds.
var kindOfCode = map[codes.Code]plugin.ErrorKind{
	codes.InvalidArgument:    plugin.ErrInvalid,
	codes.NotFound:           plugin.ErrNotFound,
	codes.Unauthenticated:    plugin.ErrUnauthorized,
	codes.PermissionDenied:   plugin.ErrForbidden,
	codes.FailedPrecondition: plugin.ErrConflict,
	codes.AlreadyExists:      plugin.ErrConflict,
	codes.Unavailable:        plugin.ErrUnavailable,
}

// fault turns a gRPC error into a *fault.Error wrapping a *plugin.Error.
// ctx is the call's context: a call the caller cancelled returns the
// context's error.
func (c *Client) fault(ctx context.Context, bounded bool, what string, err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return fault.Wrap(fault.Unavailable, &plugin.Error{Kind: plugin.ErrUnavailable, Message: err.Error()},
			"plugin %s: %s failed", c.name(), what)
	}
	switch st.Code() {
	case codes.Canceled:
		if ctx.Err() != nil {
			return ctx.Err()
		}
	case codes.DeadlineExceeded:
		if bounded {
			return fault.Wrap(fault.Unavailable, &plugin.Error{Kind: plugin.ErrUnavailable, Message: st.Message()},
				"plugin %s did not answer within %s: %s", c.name(), c.callTimeout, what)
		}
		if err := ctxErrNearDeadline(ctx); err != nil {
			return err
		}
	case codes.Unavailable:
		if c.Exited() {
			return fault.Wrap(fault.Unavailable, &plugin.Error{Kind: plugin.ErrUnavailable, Message: st.Message()},
				"plugin %s is not running (its process exited): %s failed", c.name(), what)
		}
	case codes.ResourceExhausted:
		return fault.Wrap(fault.TooLarge, &plugin.Error{Kind: plugin.ErrInvalid, Message: st.Message()},
			"plugin %s: %s: a message is over the size limit: %s", c.name(), what, st.Message())
	case codes.Unimplemented:
		return fault.Wrap(fault.NotImplemented, &plugin.Error{Kind: plugin.ErrInternal, Message: st.Message()},
			"plugin %s does not implement %s (an older protocol?)", c.name(), what)
	}
	kind, ok := kindOfCode[st.Code()]
	if !ok {
		kind = plugin.ErrInternal
	}
	return Fault(c.name(), &plugin.Error{Kind: kind, Message: st.Message()})
}

// faultKinds maps plugin error kinds to Atrium's.
var faultKinds = map[plugin.ErrorKind]fault.Kind{
	plugin.ErrInvalid:      fault.Invalid,
	plugin.ErrNotFound:     fault.NotFound,
	plugin.ErrUnauthorized: fault.Unauthorized,
	plugin.ErrForbidden:    fault.Forbidden,
	plugin.ErrConflict:     fault.Conflict,
	plugin.ErrUnavailable:  fault.Unavailable,
	plugin.ErrInternal:     fault.Internal,
}

// Fault returns err, an error from plugin pluginID (built-in or not), as a
// *fault.Error whose message names the plugin; a *fault.Error or a context
// error is returned unchanged. A plugin's internal errors are upstream
// errors: neither the caller's fault nor Atrium's core.
func Fault(pluginID string, err error) error {
	if err == nil {
		return nil
	}
	var fe *fault.Error
	if errors.As(err, &fe) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	kind := plugin.KindOf(err)
	msg := err.Error()
	var pe *plugin.Error
	if errors.As(err, &pe) {
		msg = pe.Message
	} else {
		err = &plugin.Error{Kind: plugin.ErrInternal, Message: msg, Err: err}
	}
	e := fault.Wrap(faultKinds[kind], err, "plugin %s: %s", pluginID, msg)
	if kind == plugin.ErrInternal || kind == plugin.ErrUnavailable {
		e.Source = fault.SourceUpstream
	}
	return e
}

// deadlineSkew is how much earlier than the host a plugin may see a
// deadline it applies itself (ActionRunRequest.Deadline): the deadline
// crosses as wall-clock time, which the plugin turns into a timer of its
// own.
const deadlineSkew = 100 * time.Millisecond

// ctxErrNearDeadline returns ctx's error, first waiting for it when ctx's
// deadline is at most deadlineSkew away, so that a plugin's answer to the
// deadline it saw first is the host's context.DeadlineExceeded too.
func ctxErrNearDeadline(ctx context.Context) error {
	if d, ok := ctx.Deadline(); ok && ctx.Err() == nil && time.Until(d) <= deadlineSkew {
		t := time.NewTimer(deadlineSkew)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
	return ctx.Err()
}
