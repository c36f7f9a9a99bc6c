package rpc

import (
	"context"
	"errors"

	"github.com/atrium-portal/atrium/internal/pluginhost/rpc/wire"
	"github.com/atrium-portal/atrium/plugin"
)

// cancelOf describes the cause of a cancelled action's context for the
// plugin, which ends its own context with the same cause (package plugin's
// causeOf), so that plugin.Abandoned answers there as in a built-in.
func cancelOf(cause error) *wire.ActionCancel {
	c := &wire.ActionCancel{Reason: wire.CancelOther}
	switch {
	case errors.Is(cause, plugin.ErrTaskCancelled):
		c.Reason = wire.CancelTask
	case errors.Is(cause, context.DeadlineExceeded):
		c.Reason = wire.CancelDeadline
	case errors.Is(cause, context.Canceled):
		c.Reason = wire.CancelPlain
	}
	if cause != nil {
		c.Message = cause.Error()
	}
	return c
}
