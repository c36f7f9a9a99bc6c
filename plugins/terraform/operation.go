package terraform

// operation is the resume token of a queued run, kept in Atrium's
// operations store (plugin.StepOperation) until its step ends. When Atrium
// restarts in the middle of a step (on this replica or another), the
// scaffolder runs the step again; the action then finds the operation and
// follows the run it queued instead of uploading and queueing another.
type operation struct {
	RunID     string `json:"runId"`
	Workspace string `json:"workspace"`
}
