package openshift

import "github.com/atrium-portal/atrium/plugin"

// operation is an operator installation persisted in the plugin's data
// directory until its step ends: the resume token. When Atrium restarts
// in the middle of the step, the scaffolder runs the step again; the
// action then finds the operation and goes on following the Subscription
// it created instead of starting over.
type operation struct {
	Cluster      string `json:"cluster"`
	Namespace    string `json:"namespace"`
	Subscription string `json:"subscription"`
}

// operations keeps each step's operation as a plugin.Checkpoints entry.
type operations struct{ plugin.Checkpoints }

func (o operations) load(taskID string, input map[string]any) (operation, bool) {
	var op operation
	ok := o.Load(taskID, input, &op) && op.Subscription != ""
	return op, ok
}

func (o operations) save(taskID string, input map[string]any, op operation) error {
	return o.Save(taskID, input, op)
}

func (o operations) done(taskID string, input map[string]any) { o.Clear(taskID, input) }
