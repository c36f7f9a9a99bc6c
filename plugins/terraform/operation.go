package terraform

import "github.com/atrium-portal/atrium/plugin"

// operation is a queued run persisted in the plugin's data directory
// until its step ends: the resume token. When Atrium restarts in the
// middle of a step, the scaffolder runs the step again; the action then
// finds the operation and follows the run it queued instead of uploading
// and queueing another.
type operation struct {
	RunID     string `json:"runId"`
	Workspace string `json:"workspace"`
}

// operations keeps each step's operation as a plugin.Checkpoints entry.
type operations struct{ plugin.Checkpoints }

func (o operations) load(taskID string, input map[string]any) (operation, bool) {
	var op operation
	ok := o.Load(taskID, input, &op) && op.RunID != ""
	return op, ok
}

func (o operations) save(taskID string, input map[string]any, op operation) error {
	return o.Save(taskID, input, op)
}

func (o operations) done(taskID string, input map[string]any) { o.Clear(taskID, input) }
