package plugin

import (
	"context"
	"errors"
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
//
// In an out-of-process plugin the cause does not cross gRPC: a cancelled
// context there is never Abandoned, so external work is left running and
// resumed, never cancelled by mistake.
func Abandoned(ctx context.Context) bool {
	cause := context.Cause(ctx)
	return errors.Is(cause, ErrTaskCancelled) || errors.Is(cause, context.DeadlineExceeded)
}
