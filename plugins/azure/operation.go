package azure

import "github.com/atrium-portal/atrium/plugin"

// operation is a started deployment persisted in the plugin's data
// directory until its step ends. When Atrium restarts in the middle of a
// step, the scaffolder runs the step again; the action then finds the
// operation and follows the deployment from the poller's resume token
// instead of starting another.
type operation struct {
	Subscription string `json:"subscription"`
	Group        string `json:"group"`
	Name         string `json:"name"`
	ResumeToken  string `json:"resumeToken"`
}

// operations keeps each step's operation as a plugin.Checkpoints entry.
type operations struct{ plugin.Checkpoints }

func (o operations) load(taskID string, input map[string]any) (operation, bool) {
	var op operation
	ok := o.Load(taskID, input, &op) && op.ResumeToken != ""
	return op, ok
}

func (o operations) save(taskID string, input map[string]any, op operation) error {
	return o.Save(taskID, input, op)
}

func (o operations) done(taskID string, input map[string]any) { o.Clear(taskID, input) }
