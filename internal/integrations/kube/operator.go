package kube

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// Subscription is an OLM (v0) operator subscription to create.
type Subscription struct {
	// Namespace is where the operator is installed; the global
	// openshift-operators namespace has its OperatorGroup already.
	Namespace string
	// Name of the Subscription (default: the package).
	Name string
	// Package, Channel, Source and SourceNamespace name the operator in
	// its catalog (SourceNamespace default openshift-marketplace).
	Package, Channel, Source, SourceNamespace string
	// Manual makes the InstallPlan wait for an approval.
	Manual bool
	// StartingCSV pins the version to install (optional).
	StartingCSV string
}

// GlobalOperatorsNamespace has the cluster-wide OperatorGroup.
const GlobalOperatorsNamespace = "openshift-operators"

// Subscribe ensures an OperatorGroup in the namespace (targeting it) and
// applies the Subscription, both with server-side apply.
func (c *Client) Subscribe(ctx context.Context, s Subscription) error {
	if s.Name == "" {
		s.Name = s.Package
	}
	if s.SourceNamespace == "" {
		s.SourceNamespace = "openshift-marketplace"
	}
	ao := metav1.ApplyOptions{FieldManager: FieldManager}
	if s.Namespace != GlobalOperatorsNamespace {
		groups, err := c.dyn.Resource(GVROperatorGroup).Namespace(s.Namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return fmt.Errorf("listing the OperatorGroups of %s: %w", s.Namespace, err)
		}
		if len(groups.Items) == 0 {
			og := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "operators.coreos.com/v1", "kind": "OperatorGroup",
				"metadata": map[string]any{"name": s.Namespace, "namespace": s.Namespace},
				"spec":     map[string]any{"targetNamespaces": []any{s.Namespace}},
			}}
			if _, err := c.dyn.Resource(GVROperatorGroup).Namespace(s.Namespace).Apply(ctx, s.Namespace, og, ao); err != nil {
				return fmt.Errorf("creating the OperatorGroup %s/%s: %w", s.Namespace, s.Namespace, err)
			}
		}
	}
	approval := "Automatic"
	if s.Manual {
		approval = "Manual"
	}
	spec := map[string]any{"name": s.Package, "source": s.Source, "sourceNamespace": s.SourceNamespace, "installPlanApproval": approval}
	if s.Channel != "" {
		spec["channel"] = s.Channel
	}
	if s.StartingCSV != "" {
		spec["startingCSV"] = s.StartingCSV
	}
	sub := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "operators.coreos.com/v1alpha1", "kind": "Subscription",
		"metadata": map[string]any{"name": s.Name, "namespace": s.Namespace},
		"spec":     spec,
	}}
	if _, err := c.dyn.Resource(GVRSubscription).Namespace(s.Namespace).Apply(ctx, s.Name, sub, ao); err != nil {
		return fmt.Errorf("applying the Subscription %s/%s: %w", s.Namespace, s.Name, err)
	}
	return nil
}

// InstallState is where an operator installation is.
type InstallState struct {
	Subscription string
	InstallPlan  string
	// PlanPhase is the InstallPlan's phase (RequiresApproval, Installing,
	// Complete, Failed).
	PlanPhase string
	CSV       string
	// CSVPhase is the ClusterServiceVersion's phase (Succeeded is done).
	CSVPhase string
	// Message is the CSV's message, or the subscription's condition.
	Message string
}

func (s InstallState) String() string {
	out := "subscription " + s.Subscription
	if s.InstallPlan != "" {
		out += fmt.Sprintf(", install plan %s %s", s.InstallPlan, s.PlanPhase)
	}
	if s.CSV != "" {
		out += fmt.Sprintf(", CSV %s %s", s.CSV, orDash(s.CSVPhase))
	}
	if s.Message != "" {
		out += " (" + s.Message + ")"
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "pending"
	}
	return s
}

// ErrNeedsApproval is returned by FollowInstall when the InstallPlan
// waits for a manual approval that was not asked for.
var ErrNeedsApproval = errors.New("the InstallPlan requires approval")

// FollowInstall polls the Subscription, its InstallPlan and the CSV until
// the CSV's phase is Succeeded (nil), Failed (an error with its message)
// or ctx ends. A Manual InstallPlan is approved when approve is set;
// otherwise ErrNeedsApproval. report is called on every change of state.
func (c *Client) FollowInstall(ctx context.Context, ns, name string, approve bool, poll time.Duration, report func(InstallState)) (InstallState, error) {
	var last InstallState
	for {
		st, err := c.installState(ctx, ns, name)
		if err != nil {
			return st, err
		}
		if st != last {
			report(st)
			last = st
		}
		switch {
		case st.CSVPhase == "Succeeded":
			return st, nil
		case st.CSVPhase == "Failed" || st.PlanPhase == "Failed":
			return st, fmt.Errorf("the operator's installation failed: %s", st)
		case st.PlanPhase == "RequiresApproval":
			if !approve {
				return st, fmt.Errorf("%w: %s (set approve: true, or approve it on the cluster and run the step again)", ErrNeedsApproval, st.InstallPlan)
			}
			patch := []byte(`{"spec":{"approved":true}}`)
			if _, err := c.dyn.Resource(GVRInstallPlan).Namespace(ns).Patch(ctx, st.InstallPlan, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: FieldManager}); err != nil {
				return st, fmt.Errorf("approving the InstallPlan %s: %w", st.InstallPlan, err)
			}
			continue
		}
		select {
		case <-ctx.Done():
			return st, fmt.Errorf("waiting for the operator (%s): %w", st, ctx.Err())
		case <-time.After(poll):
		}
	}
}

func (c *Client) installState(ctx context.Context, ns, name string) (InstallState, error) {
	st := InstallState{Subscription: ns + "/" + name}
	sub, err := c.dyn.Resource(GVRSubscription).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return st, fmt.Errorf("reading the Subscription %s: %w", st.Subscription, err)
	}
	st.InstallPlan, _, _ = unstructured.NestedString(sub.Object, "status", "installPlanRef", "name")
	st.CSV, _, _ = unstructured.NestedString(sub.Object, "status", "installedCSV")
	conds, _, _ := unstructured.NestedSlice(sub.Object, "status", "conditions")
	for _, cd := range conds {
		cm, _ := cd.(map[string]any)
		if cm["status"] == "True" && (cm["type"] == "ResolutionFailed" || cm["type"] == "CatalogSourcesUnhealthy") {
			msg, _ := cm["message"].(string)
			return st, fmt.Errorf("the Subscription %s cannot be resolved: %s %s", st.Subscription, cm["type"], msg)
		}
	}
	if st.InstallPlan != "" {
		ip, err := c.dyn.Resource(GVRInstallPlan).Namespace(ns).Get(ctx, st.InstallPlan, metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return st, fmt.Errorf("reading the InstallPlan %s: %w", st.InstallPlan, err)
		}
		if ip != nil {
			st.PlanPhase, _, _ = unstructured.NestedString(ip.Object, "status", "phase")
		}
	}
	if st.CSV != "" {
		csv, err := c.dyn.Resource(GVRClusterSvcVersn).Namespace(ns).Get(ctx, st.CSV, metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return st, fmt.Errorf("reading the ClusterServiceVersion %s: %w", st.CSV, err)
		}
		if csv != nil {
			st.CSVPhase, _, _ = unstructured.NestedString(csv.Object, "status", "phase")
			st.Message, _, _ = unstructured.NestedString(csv.Object, "status", "message")
		}
	}
	return st, nil
}
