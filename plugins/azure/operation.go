package azure

import "github.com/atrium-portal/atrium/plugin"

// operation is the resume token of a started deployment, kept in Atrium's
// operations store (plugin.StepOperation) until its step ends. When Atrium
// restarts in the middle of a step (on this replica or another), the
// scaffolder runs the step again; the action then finds the operation and
// follows the deployment from the poller's resume token instead of
// starting another.
type operation struct {
	Subscription string `json:"subscription"`
	Group        string `json:"group"`
	Name         string `json:"name"`
	ResumeToken  string `json:"resumeToken"`
}

// deploymentOperation is the operation of a step that deploys to the
// subscription named subscription.
func deploymentOperation(req plugin.ActionRequest, subscription string) plugin.StepOperation {
	return plugin.OperationKind{System: func() string { return plugin.SystemName("azure", subscription) }, Kind: "deployment"}.Step(req)
}
