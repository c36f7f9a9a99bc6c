package kube

import (
	"context"
	"fmt"
	"regexp"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Project is a project (OpenShift) or namespace (Kubernetes) to create.
type Project struct {
	Name        string
	DisplayName string
	Description string
	// Labels are set on a Kubernetes namespace (a ProjectRequest takes
	// none: the cluster's project template decides).
	Labels map[string]string
}

var dns1123Label = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// ValidName checks a namespace name (an RFC 1123 label).
func ValidName(name string) error {
	if len(name) == 0 || len(name) > 63 || !dns1123Label.MatchString(name) {
		return fmt.Errorf("%q is not a valid namespace name: at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit", name)
	}
	return nil
}

// EnsureProject creates the project when it does not exist: on OpenShift
// a ProjectRequest (which applies the cluster's project template and
// makes the requester its admin), on Kubernetes a Namespace through
// server-side apply. created is false when it existed already.
func (c *Client) EnsureProject(ctx context.Context, p Project) (created bool, err error) {
	if err := ValidName(p.Name); err != nil {
		return false, err
	}
	if c.OpenShift() {
		pr := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion":  "project.openshift.io/v1",
			"kind":        "ProjectRequest",
			"metadata":    map[string]any{"name": p.Name},
			"displayName": p.DisplayName,
			"description": p.Description,
		}}
		_, err := c.dyn.Resource(GVRProjectRequest).Create(ctx, pr, metav1.CreateOptions{FieldManager: FieldManager})
		if err == nil {
			return true, nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return false, err
		}
		// It exists; make sure it is one this account can see.
		if _, gerr := c.dyn.Resource(GVRProject).Get(ctx, p.Name, metav1.GetOptions{}); gerr != nil {
			return false, fmt.Errorf("project %s exists but cannot be read by Atrium's account: %w", p.Name, gerr)
		}
		return false, nil
	}
	_, err = c.dyn.Resource(GVRNamespace).Get(ctx, p.Name, metav1.GetOptions{})
	switch {
	case err == nil:
	case apierrors.IsNotFound(err):
		created = true
	default:
		return false, err
	}
	labels := map[string]any{}
	for k, v := range p.Labels {
		labels[k] = v
	}
	md := map[string]any{"name": p.Name}
	if len(labels) > 0 {
		md["labels"] = labels
	}
	if p.DisplayName != "" || p.Description != "" {
		md["annotations"] = map[string]any{"openshift.io/display-name": p.DisplayName, "openshift.io/description": p.Description}
	}
	ns := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": md}}
	if _, err := c.dyn.Resource(GVRNamespace).Apply(ctx, p.Name, ns, metav1.ApplyOptions{FieldManager: FieldManager}); err != nil {
		return false, err
	}
	return created, nil
}
