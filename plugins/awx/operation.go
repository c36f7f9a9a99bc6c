package awx

import (
	"github.com/atrium-portal/atrium/internal/integrations/awx"
	"github.com/atrium-portal/atrium/plugin"
)

// operation is a launched job persisted in the plugin's data directory
// until its step ends: the resume token. When Atrium restarts in the
// middle of a step, the scaffolder runs the step again; the action then
// finds the operation and follows the job it launched instead of
// launching another one, continuing its output where the log stopped.
type operation struct {
	JobID    int    `json:"jobId"`
	Type     string `json:"type"`
	NextLine int    `json:"nextLine"`
}

// operations keeps each step's operation as a plugin.Checkpoints entry.
type operations struct{ plugin.Checkpoints }

func (o operations) load(taskID string, input map[string]any) (operation, bool) {
	var op operation
	ok := o.Load(taskID, input, &op) && op.JobID != 0
	return op, ok
}

func (o operations) save(taskID string, input map[string]any, op operation) error {
	return o.Save(taskID, input, op)
}

func (o operations) done(taskID string, input map[string]any) { o.Clear(taskID, input) }

func (op operation) job() awx.Job { return awx.Job{ID: op.JobID, Type: op.Type} }
