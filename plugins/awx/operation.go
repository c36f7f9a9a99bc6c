package awx

import (
	"github.com/atrium-portal/atrium/internal/integrations/awx"
)

// operation is the resume token of a launched job, kept in Atrium's
// operations store (plugin.StepOperation) until its step ends. When Atrium
// restarts in the middle of a step (on this replica or another), the
// scaffolder runs the step again; the action then finds the operation and
// follows the job it launched instead of launching another one,
// continuing its output where the log stopped.
type operation struct {
	JobID    int    `json:"jobId"`
	Type     string `json:"type"`
	NextLine int    `json:"nextLine"`
}

func (op operation) job() awx.Job { return awx.Job{ID: op.JobID, Type: op.Type} }
