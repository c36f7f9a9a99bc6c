package openshift

import "github.com/atrium-portal/atrium/plugin"

// operation is the resume token of an operator installation, kept in
// Atrium's operations store (plugin.StepOperation) until its step ends.
// When Atrium restarts in the middle of the step (on this replica or
// another), the scaffolder runs the step again; the action then finds the
// operation and goes on following the Subscription it created instead of
// starting over.
type operation struct {
	Cluster      string `json:"cluster"`
	Namespace    string `json:"namespace"`
	Subscription string `json:"subscription"`
}

// installOperation is the operation of a step that installs an operator
// on the cluster named cluster.
func installOperation(req plugin.ActionRequest, cluster string) plugin.StepOperation {
	return plugin.OperationKind{System: func() string { return plugin.SystemName("kube", cluster) }, Kind: "operator-install"}.Step(req)
}
