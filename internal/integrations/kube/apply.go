package kube

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/yaml"
)

// Manifest is one object read from a manifest file.
type Manifest struct {
	// Source is where it came from: "path#index" (index of the document).
	Source string
	Object *unstructured.Unstructured
}

// Ref names the object as Kind/namespace/name (Kind/name when cluster
// scoped or not yet placed).
func (m Manifest) Ref() string {
	if ns := m.Object.GetNamespace(); ns != "" {
		return m.Object.GetKind() + "/" + ns + "/" + m.Object.GetName()
	}
	return m.Object.GetKind() + "/" + m.Object.GetName()
}

// Decode reads the objects of multi-document YAML (or JSON); source names
// the file in errors. Empty documents are skipped; a List's items are
// its objects.
func Decode(data []byte, source string, maxObjects int) ([]Manifest, error) {
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []Manifest
	for i := 0; ; i++ {
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("%s: document %d: %v", source, i+1, err)
		}
		if len(obj) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: obj}
		where := fmt.Sprintf("%s#%d", source, i+1)
		var items []*unstructured.Unstructured
		if u.IsList() {
			l, err := u.ToList()
			if err != nil {
				return nil, fmt.Errorf("%s: %v", where, err)
			}
			for j := range l.Items {
				items = append(items, &l.Items[j])
			}
		} else {
			items = []*unstructured.Unstructured{u}
		}
		for _, it := range items {
			if it.GetAPIVersion() == "" || it.GetKind() == "" {
				return nil, fmt.Errorf("%s: apiVersion and kind are required", where)
			}
			if it.GetName() == "" {
				return nil, fmt.Errorf("%s: %s has no metadata.name", where, it.GetKind())
			}
			out = append(out, Manifest{Source: where, Object: it})
			if maxObjects > 0 && len(out) > maxObjects {
				return nil, fmt.Errorf("%s: more than %d objects", source, maxObjects)
			}
		}
	}
}

// ApplyOptions are the options of Apply.
type ApplyOptions struct {
	// Namespace is where namespaced objects without one go.
	Namespace string
	// Force takes over fields other managers own.
	Force bool
	// DryRun validates on the server (dryRun=All) and changes nothing.
	DryRun bool
}

// Problem is what the cluster refused about one object.
type Problem struct {
	// Object is Kind/namespace/name; Source the manifest it came from.
	Object, Source string
	// Field is the path of the field at fault, when known.
	Field string
	// Manager is the other field manager owning Field (conflicts only).
	Manager string
	// Message says what is wrong.
	Message string
	// Conflict marks a field-manager conflict (force takes it over).
	Conflict bool
}

func (p Problem) String() string {
	s := p.Object + " (" + p.Source + "): "
	if p.Conflict {
		return s + fmt.Sprintf("field %s is owned by the field manager %q (use force to take it over)", p.Field, p.Manager)
	}
	if p.Field != "" {
		return s + p.Field + ": " + p.Message
	}
	return s + p.Message
}

// ProblemsError is every problem of a dry run or an apply.
type ProblemsError struct{ Problems []Problem }

func (e *ProblemsError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return fmt.Sprintf("%d problem(s): %s", len(e.Problems), strings.Join(lines, "; "))
}

// Conflicts reports whether every problem is a field-manager conflict.
func (e *ProblemsError) Conflicts() bool {
	for _, p := range e.Problems {
		if !p.Conflict {
			return false
		}
	}
	return len(e.Problems) > 0
}

// Result is one applied object.
type Result struct {
	Ref    string
	Source string
	// Action is created or configured.
	Action string
	// Object is what the server answered.
	Object *unstructured.Unstructured
}

// order applies namespaces and CRDs first, like kubectl.
func order(ms []Manifest) []Manifest {
	rank := func(m Manifest) int {
		switch m.Object.GetKind() {
		case "Namespace", "CustomResourceDefinition":
			return 0
		case "ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "ConfigMap", "Secret":
			return 1
		}
		return 2
	}
	out := slices.Clone(ms)
	slices.SortStableFunc(out, func(a, b Manifest) int { return rank(a) - rank(b) })
	return out
}

// mapping finds the resource of an object's kind, refreshing discovery
// once when the kind is unknown (a CRD applied a moment ago).
func (c *Client) mapping(gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil && meta.IsNoMatchError(err) {
		c.mapper.Reset()
		m, err = c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		if meta.IsNoMatchError(err) {
			return nil, fmt.Errorf("the cluster does not serve kind %s of apiVersion %s", gvk.Kind, gvk.GroupVersion())
		}
		return nil, err
	}
	return m, nil
}

// Apply server-side applies the manifests with the field manager
// "atrium", each in turn. With opts.DryRun nothing is changed. Every
// object is tried; the problems of all of them come back together as a
// *ProblemsError (other errors — the cluster unreachable — stop at once).
func (c *Client) Apply(ctx context.Context, ms []Manifest, opts ApplyOptions) ([]Result, error) {
	var (
		results  []Result
		problems []Problem
	)
	for _, m := range order(ms) {
		obj := m.Object.DeepCopy()
		gvk := obj.GroupVersionKind()
		mp, err := c.mapping(gvk)
		if err != nil {
			problems = append(problems, Problem{Object: m.Ref(), Source: m.Source, Message: err.Error()})
			continue
		}
		var ri interface {
			Apply(context.Context, string, *unstructured.Unstructured, metav1.ApplyOptions, ...string) (*unstructured.Unstructured, error)
			Get(context.Context, string, metav1.GetOptions, ...string) (*unstructured.Unstructured, error)
		}
		if mp.Scope.Name() == meta.RESTScopeNameNamespace {
			if obj.GetNamespace() == "" {
				obj.SetNamespace(opts.Namespace)
			}
			if obj.GetNamespace() == "" {
				problems = append(problems, Problem{Object: m.Ref(), Source: m.Source, Field: "metadata.namespace", Message: "a namespaced object needs a namespace (in the manifest or the input)"})
				continue
			}
			ri = c.dyn.Resource(mp.Resource).Namespace(obj.GetNamespace())
		} else {
			obj.SetNamespace("")
			ri = c.dyn.Resource(mp.Resource)
		}
		ref := Manifest{Object: obj}.Ref()
		unstructured.RemoveNestedField(obj.Object, "status")
		unstructured.RemoveNestedField(obj.Object, "metadata", "managedFields")
		unstructured.RemoveNestedField(obj.Object, "metadata", "resourceVersion")
		unstructured.RemoveNestedField(obj.Object, "metadata", "uid")
		unstructured.RemoveNestedField(obj.Object, "metadata", "creationTimestamp")
		action := "configured"
		if _, err := ri.Get(ctx, obj.GetName(), metav1.GetOptions{}); apierrors.IsNotFound(err) {
			action = "created"
		} else if err != nil && !apierrors.IsForbidden(err) {
			return results, fmt.Errorf("%s: %w", ref, err)
		}
		ao := metav1.ApplyOptions{FieldManager: FieldManager, Force: opts.Force}
		if opts.DryRun {
			ao.DryRun = []string{metav1.DryRunAll}
		}
		got, err := ri.Apply(ctx, obj.GetName(), obj, ao)
		if err != nil {
			ps := problemsOf(ref, m.Source, err)
			if ps == nil {
				return results, fmt.Errorf("%s: %w", ref, err)
			}
			problems = append(problems, ps...)
			continue
		}
		results = append(results, Result{Ref: ref, Source: m.Source, Action: action, Object: got})
	}
	if len(problems) > 0 {
		return results, &ProblemsError{Problems: problems}
	}
	return results, nil
}

// problemsOf turns the cluster's refusal of one object into problems, or
// nil when err is not about the object (unreachable, unauthorised…).
func problemsOf(ref, source string, err error) []Problem {
	var st apierrors.APIStatus
	if !errors.As(err, &st) {
		return nil
	}
	s := st.Status()
	switch s.Code {
	case 400, 404, 409, 422:
	default:
		return nil
	}
	var out []Problem
	if s.Details != nil {
		for _, cs := range s.Details.Causes {
			p := Problem{Object: ref, Source: source, Field: cs.Field, Message: cs.Message}
			if cs.Type == metav1.CauseTypeFieldManagerConflict {
				p.Conflict = true
				if _, rest, ok := strings.Cut(cs.Message, `"`); ok {
					p.Manager, _, _ = strings.Cut(rest, `"`)
				}
				if p.Field == "" {
					if i := strings.LastIndex(cs.Message, ": "); i >= 0 {
						p.Field = cs.Message[i+2:]
					}
				}
			}
			out = append(out, p)
		}
	}
	if out == nil {
		out = []Problem{{Object: ref, Source: source, Message: s.Message}}
	}
	return out
}
