package plugin

import (
	"context"
	"errors"

	"github.com/atrium-portal/atrium/internal/pluginhost/rpc/wire"
)

// ErrTaskCancelled is the cause of an action's context when a person
// cancelled the task (context.Cause). Atrium's scaffolder cancels with it.
var ErrTaskCancelled = errors.New("task cancelled")

// Abandoned reports whether an action's context ended because its work is
// no longer wanted — the task was cancelled (ErrTaskCancelled) or the step
// ran out of time — rather than because Atrium is shutting down. An action
// that started long-running work elsewhere (a job, a run, a deployment)
// cancels it there when Abandoned is true, and otherwise leaves it running:
// after a restart the step runs again and resumes following it.
// It answers the same in an out-of-process plugin: the host sends the
// cause across gRPC.
func Abandoned(ctx context.Context) bool {
	cause := context.Cause(ctx)
	return errors.Is(cause, ErrTaskCancelled) || errors.Is(cause, context.DeadlineExceeded)
}

// remoteCause is a cancellation cause received from the host: its text,
// and the cause it stands for (ErrTaskCancelled, context.DeadlineExceeded,
// context.Canceled), if any.
type remoteCause struct {
	msg  string
	base error
}

func (e *remoteCause) Error() string { return e.msg }
func (e *remoteCause) Unwrap() error { return e.base }

// causeOf turns the host's ActionCancel into the cause of the action's
// context.
func causeOf(c *wire.ActionCancel) error {
	var base error
	switch c.Reason {
	case wire.CancelTask:
		base = ErrTaskCancelled
	case wire.CancelDeadline:
		base = context.DeadlineExceeded
	case wire.CancelPlain:
		base = context.Canceled
	}
	switch {
	case base != nil && (c.Message == "" || c.Message == base.Error()):
		return base
	case c.Message == "":
		return errors.New("cancelled by Atrium")
	}
	return &remoteCause{msg: c.Message, base: base}
}
