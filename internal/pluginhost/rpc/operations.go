package rpc

import (
	"context"
	"encoding/json"

	"google.golang.org/grpc"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/pluginhost/rpc/wire"
	"github.com/atrium-portal/atrium/plugin"
)

// actionRunStream is RunAction when the host offers plugin.Operations:
// the plugin's OperationCall events are answered on the same stream.
var actionRunStream = &grpc.StreamDesc{StreamName: wire.MethodRunAction, ServerStreams: true, ClientStreams: true}

// answerOperation runs one plugin.Operations call of a running action
// against ops and returns the reply.
func answerOperation(ctx context.Context, ops plugin.Operations, call *wire.OperationCall) wire.ActionReply {
	reply := wire.ActionReply{Seq: call.Seq}
	var op plugin.Operation
	var err error
	switch call.Method {
	case wire.OperationBegin:
		var s plugin.OperationStart
		if err = json.Unmarshal(call.Body, &s); err == nil {
			op, reply.Resumed, err = ops.Begin(ctx, s)
		}
	case wire.OperationUpdate:
		var u plugin.OperationUpdate
		if err = json.Unmarshal(call.Body, &u); err == nil {
			op, err = ops.Update(ctx, call.ID, u)
		}
	case wire.OperationGet:
		op, err = ops.Get(ctx, call.ID)
	default:
		err = fault.New(fault.Invalid, "unknown operations method %q", call.Method)
	}
	if err != nil {
		reply.Error, reply.Kind = err.Error(), string(ackKind(err))
		if msg := fault.MessageOf(err); msg != "internal error" {
			reply.Error = msg
		}
		return reply
	}
	reply.Operation, err = json.Marshal(op)
	if err != nil {
		reply.Error, reply.Kind = err.Error(), string(plugin.ErrInternal)
	}
	return reply
}
