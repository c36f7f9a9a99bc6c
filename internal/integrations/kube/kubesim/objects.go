package kubesim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
)

// status is a metav1.Status, the body of every error answer.
type status struct {
	Kind       string   `json:"kind"`
	APIVersion string   `json:"apiVersion"`
	Status     string   `json:"status"`
	Message    string   `json:"message"`
	Reason     string   `json:"reason"`
	Code       int      `json:"code"`
	Details    *details `json:"details,omitempty"`
}

type details struct {
	Name   string  `json:"name,omitempty"`
	Group  string  `json:"group,omitempty"`
	Kind   string  `json:"kind,omitempty"`
	Causes []cause `json:"causes,omitempty"`
}

func statusErr(code int, reason, msg string) *status {
	return &status{Kind: "Status", APIVersion: "v1", Status: "Failure", Message: msg, Reason: reason, Code: code}
}

func (st *status) withDetails(res Resource, name string) *status {
	st.Details = &details{Name: name, Group: res.Group, Kind: res.Resource}
	return st
}

func notFound(res Resource, name string) *status {
	gr := res.Resource
	if res.Group != "" {
		gr += "." + res.Group
	}
	return statusErr(404, "NotFound", fmt.Sprintf("%s %q not found", gr, name)).withDetails(res, name)
}

func invalid(res Resource, name string, causes ...cause) *status {
	msgs := make([]string, len(causes))
	for i, c := range causes {
		msgs[i] = c.Field + ": " + c.Message
	}
	st := statusErr(422, "Invalid", fmt.Sprintf("%s %q is invalid: [%s]", res.Kind, name, strings.Join(msgs, ", ")))
	st.Details = &details{Name: name, Group: res.Group, Kind: res.Kind, Causes: causes}
	return st
}

func writeStatus(w http.ResponseWriter, st *status) { writeJSON(w, st.Code, st) }

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func dig(o any, path ...string) any {
	for _, p := range path {
		m, ok := o.(map[string]any)
		if !ok {
			return nil
		}
		o = m[p]
	}
	return o
}

func str(o any, path ...string) string {
	s, _ := dig(o, path...).(string)
	return s
}

func setIn(o map[string]any, v any, path ...string) {
	for _, p := range path[:len(path)-1] {
		m, ok := o[p].(map[string]any)
		if !ok {
			m = map[string]any{}
			o[p] = m
		}
		o = m
	}
	o[path[len(path)-1]] = v
}

func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case float64:
		return int64(x), true
	case int64:
		return x, true
	case int:
		return int64(x), true
	}
	return 0, false
}

// clone deep-copies a JSON value.
func clone(o map[string]any) map[string]any {
	b, _ := json.Marshal(o)
	var c map[string]any
	_ = json.Unmarshal(b, &c)
	return c
}

// equal compares JSON values, numbers by value whatever their Go type.
func equal(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	var x, y any
	_ = json.Unmarshal(ja, &x)
	_ = json.Unmarshal(jb, &y)
	return reflect.DeepEqual(x, y)
}

// stripped is obj without what the server owns: status and the
// server-set metadata.
func stripped(obj map[string]any) map[string]any {
	o := clone(obj)
	delete(o, "status")
	if m, ok := o["metadata"].(map[string]any); ok {
		for _, k := range []string{"managedFields", "resourceVersion", "uid", "creationTimestamp", "generation"} {
			delete(m, k)
		}
	}
	return o
}

// flatten lists obj's leaf fields as ".a.b" paths; lists are leaves.
func flatten(prefix string, o map[string]any, out map[string]any) {
	for k, v := range o {
		p := prefix + "." + k
		if prefix == "" && (k == "apiVersion" || k == "kind") {
			continue
		}
		if p == ".metadata.name" || p == ".metadata.namespace" {
			continue
		}
		if m, ok := v.(map[string]any); ok && len(m) > 0 {
			flatten(p, m, out)
			continue
		}
		out[p] = v
	}
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// mergeInto merges src into dst: maps merge, anything else replaces.
func mergeInto(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				mergeInto(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}

// mergePatch applies an RFC 7386 merge patch.
func mergePatch(dst, patch map[string]any) {
	for k, v := range patch {
		switch pv := v.(type) {
		case nil:
			delete(dst, k)
		case map[string]any:
			dm, ok := dst[k].(map[string]any)
			if !ok {
				dm = map[string]any{}
				dst[k] = dm
			}
			mergePatch(dm, pv)
		default:
			dst[k] = v
		}
	}
}
