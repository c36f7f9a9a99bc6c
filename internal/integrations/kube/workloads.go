package kube

import (
	"context"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Health is a workload's state.
type Health string

// The health states.
const (
	Healthy     Health = "healthy"
	Progressing Health = "progressing"
	Degraded    Health = "degraded"
	Unknown     Health = "unknown"
)

// Deployment is a deployment's rollout state.
type Deployment struct {
	Namespace, Name string
	Desired         int64
	Updated         int64
	Ready           int64
	Available       int64
	// Rollout says how far the rollout is ("complete", "3 of 5 updated"…).
	Rollout string
	Health  Health
}

// Pod is a pod's state.
type Pod struct {
	Namespace, Name string
	Phase           string
	// Reason is a container's waiting reason (CrashLoopBackOff…).
	Reason   string
	Restarts int64
	Health   Health
	// Deployment is the deployment owning the pod through its ReplicaSet
	// (<deployment>-<hash>), when there is one.
	Deployment string
}

// Service is a service.
type Service struct {
	Namespace, Name, Type, ClusterIP string
	Ports                            []string
}

// Route is an OpenShift route.
type Route struct {
	Namespace, Name, Host string
	TLS                   bool
	Admitted              bool
}

// Workloads is what matches a selector on one cluster.
type Workloads struct {
	Deployments []Deployment
	Pods        []Pod
	Services    []Service
	Routes      []Route
}

// Empty reports whether nothing matched.
func (w Workloads) Empty() bool {
	return len(w.Deployments)+len(w.Pods)+len(w.Services)+len(w.Routes) == 0
}

// ValidSelector checks a label selector.
func ValidSelector(sel string) error {
	if _, err := labels.Parse(sel); err != nil {
		return fmt.Errorf("label selector %q: %v", sel, err)
	}
	return nil
}

// Workloads lists the deployments, pods, services and (on OpenShift)
// routes matching the label selector, in namespace or in all of them.
func (c *Client) Workloads(ctx context.Context, selector, namespace string) (Workloads, error) {
	var w Workloads
	if err := ValidSelector(selector); err != nil {
		return w, err
	}
	opts := metav1.ListOptions{LabelSelector: selector, Limit: c.pageSize}
	deps, err := c.listAll(ctx, GVRDeployment, namespace, opts)
	if err != nil {
		return w, err
	}
	pods, err := c.listAll(ctx, GVRPod, namespace, opts)
	if err != nil {
		return w, err
	}
	svcs, err := c.listAll(ctx, GVRService, namespace, opts)
	if err != nil {
		return w, err
	}
	var routes []unstructured.Unstructured
	if c.OpenShift() {
		routes, err = c.listAll(ctx, GVRRoute, namespace, opts)
		if err != nil && !apierrors.IsNotFound(err) {
			return w, err
		}
	}
	return workloadsOf(deps, pods, svcs, routes), nil
}

// workloadsOf reads the state of listed (or cached) objects.
func workloadsOf(deps, pods, svcs, routes []unstructured.Unstructured) Workloads {
	var w Workloads
	for _, d := range deps {
		w.Deployments = append(w.Deployments, deploymentOf(d))
	}
	for _, p := range pods {
		w.Pods = append(w.Pods, podOf(p))
	}
	// A deployment whose pods fail is degraded, whatever its rollout says.
	for i, d := range w.Deployments {
		for _, p := range w.Pods {
			if p.Health == Degraded && p.Namespace == d.Namespace && p.Deployment == d.Name {
				w.Deployments[i].Health = Degraded
				w.Deployments[i].Rollout = d.Rollout + "; pod " + p.Name + ": " + orPhase(p)
				break
			}
		}
	}
	for _, s := range svcs {
		sv := Service{Namespace: s.GetNamespace(), Name: s.GetName()}
		sv.Type, _, _ = unstructured.NestedString(s.Object, "spec", "type")
		if sv.Type == "" {
			sv.Type = "ClusterIP"
		}
		sv.ClusterIP, _, _ = unstructured.NestedString(s.Object, "spec", "clusterIP")
		ports, _, _ := unstructured.NestedSlice(s.Object, "spec", "ports")
		for _, p := range ports {
			pm, _ := p.(map[string]any)
			proto, _ := pm["protocol"].(string)
			if proto == "" {
				proto = "TCP"
			}
			sv.Ports = append(sv.Ports, fmt.Sprintf("%v/%s", pm["port"], proto))
		}
		w.Services = append(w.Services, sv)
	}
	for _, r := range routes {
		rt := Route{Namespace: r.GetNamespace(), Name: r.GetName()}
		rt.Host, _, _ = unstructured.NestedString(r.Object, "spec", "host")
		_, rt.TLS, _ = unstructured.NestedMap(r.Object, "spec", "tls")
		ingress, _, _ := unstructured.NestedSlice(r.Object, "status", "ingress")
		for _, in := range ingress {
			im, _ := in.(map[string]any)
			if rt.Host == "" {
				rt.Host, _ = im["host"].(string)
			}
			conds, _ := im["conditions"].([]any)
			for _, c := range conds {
				cm, _ := c.(map[string]any)
				if cm["type"] == "Admitted" && cm["status"] == "True" {
					rt.Admitted = true
				}
			}
		}
		w.Routes = append(w.Routes, rt)
	}
	return w
}

// PageSize is how many objects one list request asks for by default.
const PageSize = 250

// MaxListed bounds the objects of one kind read for a selector.
const MaxListed = 2000

// listAll reads every page of a list, up to MaxListed objects.
func (c *Client) listAll(ctx context.Context, gvr schema.GroupVersionResource, namespace string, opts metav1.ListOptions) ([]unstructured.Unstructured, error) {
	var out []unstructured.Unstructured
	for {
		l, err := c.dyn.Resource(gvr).Namespace(namespace).List(ctx, opts)
		if err != nil {
			return out, err
		}
		out = append(out, l.Items...)
		opts.Continue = l.GetContinue()
		if opts.Continue == "" {
			return out, nil
		}
		if len(out) >= MaxListed {
			return out, fmt.Errorf("more than %d %s match; narrow the selector", MaxListed, gvr.Resource)
		}
	}
}

func deploymentOf(d unstructured.Unstructured) Deployment {
	o := d.Object
	dep := Deployment{Namespace: d.GetNamespace(), Name: d.GetName(), Desired: 1}
	if v, ok, _ := unstructured.NestedFieldNoCopy(o, "spec", "replicas"); ok {
		dep.Desired = num(v)
	}
	st := func(f string) int64 { v, _, _ := unstructured.NestedFieldNoCopy(o, "status", f); return num(v) }
	dep.Updated, dep.Ready, dep.Available = st("updatedReplicas"), st("readyReplicas"), st("availableReplicas")
	observed := st("observedGeneration")
	deadline := false
	conds, _, _ := unstructured.NestedSlice(o, "status", "conditions")
	for _, c := range conds {
		cm, _ := c.(map[string]any)
		if cm["type"] == "Progressing" && cm["reason"] == "ProgressDeadlineExceeded" {
			deadline = true
		}
	}
	switch {
	case deadline:
		dep.Rollout, dep.Health = "progress deadline exceeded", Degraded
	case observed < d.GetGeneration():
		dep.Rollout, dep.Health = "waiting for the controller", Progressing
	case dep.Updated < dep.Desired:
		dep.Rollout, dep.Health = fmt.Sprintf("%d of %d updated", dep.Updated, dep.Desired), Progressing
	case dep.Available < dep.Desired:
		dep.Rollout, dep.Health = fmt.Sprintf("%d of %d available", dep.Available, dep.Desired), Progressing
	default:
		dep.Rollout, dep.Health = "complete", Healthy
	}
	return dep
}

func podOf(p unstructured.Unstructured) Pod {
	pod := Pod{Namespace: p.GetNamespace(), Name: p.GetName()}
	for _, o := range p.GetOwnerReferences() {
		if o.Kind == "ReplicaSet" {
			if i := strings.LastIndex(o.Name, "-"); i > 0 {
				pod.Deployment = o.Name[:i]
			}
		}
	}
	pod.Phase, _, _ = unstructured.NestedString(p.Object, "status", "phase")
	statuses, _, _ := unstructured.NestedSlice(p.Object, "status", "containerStatuses")
	for _, s := range statuses {
		sm, _ := s.(map[string]any)
		pod.Restarts += num(sm["restartCount"])
		if r, ok, _ := unstructured.NestedString(sm, "state", "waiting", "reason"); ok && pod.Reason == "" {
			pod.Reason = r
		}
	}
	switch {
	case pod.Phase == "Failed" || strings.HasSuffix(pod.Reason, "BackOff") || pod.Reason == "ErrImagePull" || pod.Reason == "CreateContainerConfigError":
		pod.Health = Degraded
	case pod.Phase == "Running" && pod.Reason == "", pod.Phase == "Succeeded":
		pod.Health = Healthy
	case pod.Phase == "Pending" || pod.Reason != "":
		pod.Health = Progressing
	default:
		pod.Health = Unknown
	}
	return pod
}

func orPhase(p Pod) string {
	if p.Reason != "" {
		return p.Reason
	}
	return p.Phase
}

func num(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int:
		return int64(x)
	case float64:
		return int64(x)
	}
	return 0
}

// WaitRollout polls a deployment until its rollout is complete (nil),
// has exceeded its progress deadline (an error) or ctx ends; report is
// called when the rollout state changes.
func (c *Client) WaitRollout(ctx context.Context, namespace, name string, poll time.Duration, report func(Deployment)) (Deployment, error) {
	var last Deployment
	for {
		u, err := c.dyn.Resource(GVRDeployment).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return last, err
		}
		d := deploymentOf(*u)
		if d != last {
			report(d)
			last = d
		}
		switch d.Health {
		case Healthy:
			return d, nil
		case Degraded:
			return d, fmt.Errorf("the rollout of deployment %s/%s failed: %s", namespace, name, d.Rollout)
		}
		select {
		case <-ctx.Done():
			return d, fmt.Errorf("waiting for deployment %s/%s (%s): %w", namespace, name, d.Rollout, ctx.Err())
		case <-time.After(poll):
		}
	}
}
