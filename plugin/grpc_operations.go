package plugin

import (
	"context"
	"encoding/json"
	"sync"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/atrium-portal/atrium/internal/pluginhost/rpc/wire"
)

// streamOperations is plugin.Operations in an out-of-process plugin: each
// call is an OperationCall event on the action's stream, answered by the
// host with an ActionReply (see wire).
type streamOperations struct {
	rep *streamReporter

	mu      sync.Mutex
	seq     int64
	waiting map[int64]chan wire.ActionReply
	err     error // set when the stream ended
}

var _ Operations = (*streamOperations)(nil)

func newStreamOperations(rep *streamReporter) *streamOperations {
	return &streamOperations{rep: rep, waiting: map[int64]chan wire.ActionReply{}}
}

// receive delivers the host's replies until the stream ends, and passes
// a cancellation's cause to cancelled.
func (o *streamOperations) receive(cancelled func(*wire.ActionCancel)) {
	for {
		m := new(wrapperspb.BytesValue)
		err := o.rep.stream.RecvMsg(m)
		var reply wire.ActionReply
		if err == nil {
			err = wire.Decode(m, &reply)
		}
		o.mu.Lock()
		if err != nil {
			o.err = Errorf(ErrUnavailable, "the operations of this step cannot reach Atrium: %w", err)
			for seq, ch := range o.waiting {
				close(ch)
				delete(o.waiting, seq)
			}
			o.mu.Unlock()
			return
		}
		if reply.Cancel != nil {
			o.mu.Unlock()
			cancelled(reply.Cancel)
			continue
		}
		ch := o.waiting[reply.Seq]
		delete(o.waiting, reply.Seq)
		o.mu.Unlock()
		if ch != nil {
			ch <- reply
		}
	}
}

func (o *streamOperations) call(ctx context.Context, method, id string, body any) (Operation, bool, error) {
	var raw json.RawMessage
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return Operation{}, false, Errorf(ErrInvalid, "encoding the operation: %w", err)
		}
		raw = b
	}
	ch := make(chan wire.ActionReply, 1)
	o.mu.Lock()
	if o.err != nil {
		o.mu.Unlock()
		return Operation{}, false, o.err
	}
	o.seq++
	seq := o.seq
	o.waiting[seq] = ch
	o.mu.Unlock()
	if err := o.rep.send(wire.ActionEvent{Operation: &wire.OperationCall{Seq: seq, Method: method, ID: id, Body: raw}}); err != nil {
		o.mu.Lock()
		delete(o.waiting, seq)
		o.mu.Unlock()
		return Operation{}, false, Errorf(ErrUnavailable, "sending an operation call to Atrium: %w", err)
	}
	select {
	case <-ctx.Done():
		o.mu.Lock()
		delete(o.waiting, seq)
		o.mu.Unlock()
		return Operation{}, false, ctx.Err()
	case reply, ok := <-ch:
		if !ok {
			o.mu.Lock()
			defer o.mu.Unlock()
			return Operation{}, false, o.err
		}
		if reply.Error != "" {
			return Operation{}, false, &Error{Kind: ErrorKind(reply.Kind), Message: reply.Error}
		}
		var op Operation
		if err := json.Unmarshal(reply.Operation, &op); err != nil {
			return Operation{}, false, Errorf(ErrInternal, "decoding Atrium's operation: %w", err)
		}
		return op, reply.Resumed, nil
	}
}

func (o *streamOperations) Begin(ctx context.Context, s OperationStart) (Operation, bool, error) {
	return o.call(ctx, wire.OperationBegin, "", s)
}

func (o *streamOperations) Update(ctx context.Context, id string, u OperationUpdate) (Operation, error) {
	op, _, err := o.call(ctx, wire.OperationUpdate, id, u)
	return op, err
}

func (o *streamOperations) Get(ctx context.Context, id string) (Operation, error) {
	op, _, err := o.call(ctx, wire.OperationGet, id, nil)
	return op, err
}
