package catalog

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// The apiVersions of the built-in kinds.
const (
	APIVersionV1Alpha1   = "backstage.io/v1alpha1"
	APIVersionV1Beta1    = "backstage.io/v1beta1"
	APIVersionScaffolder = "scaffolder.backstage.io/v1beta3"
)

// ValidateDocument checks a document the way Backstage's default policies
// and built-in kind validators do (backstage.md §1.1-§1.5) and turns it into
// an Entity. The namespace defaults to "default"; relations and status in
// the input are dropped because the catalog computes them. Kinds that are
// not built in are checked only structurally; catalog rules decide whether
// they are allowed. On any problem the entity is nil; problems come in line
// order.
func ValidateDocument(doc Document) (*Entity, Problems) {
	v := validator{doc: doc}
	e := v.entity()
	if len(v.problems) > 0 {
		sort.SliceStable(v.problems, func(i, j int) bool { return v.problems[i].Line < v.problems[j].Line })
		return nil, v.problems
	}
	return e, nil
}

type validator struct {
	doc      Document
	problems Problems
}

func (v *validator) add(field, msg string) {
	v.problems = append(v.problems, Problem{File: v.doc.File, Line: v.doc.LineOf(field), Field: field, Message: msg})
}

// notValid adds Backstage's format message for field.
func (v *validator) notValid(field, expected string, value any) {
	v.add(field, fmt.Sprintf("%q is not valid; expected %s but found %q.", field, expected, display(value)))
}

func (v *validator) entity() *Entity {
	raw := v.doc.Raw
	if raw == nil {
		v.add("", "entity must be an object")
		return nil
	}
	var foreign []string
	for k := range raw {
		switch k {
		case "apiVersion", "kind", "metadata", "spec", "relations", "status":
		default:
			foreign = append(foreign, k)
		}
	}
	sort.Strings(foreign)
	for _, k := range foreign {
		v.add(k, "unknown root field; an entity has only apiVersion, kind, metadata and spec (relations and status are computed)")
	}

	e := &Entity{}
	e.APIVersion = v.requiredString("apiVersion", raw)
	if e.APIVersion != "" && !IsValidAPIVersion(e.APIVersion) {
		v.notValid("apiVersion", expectPrefixed, e.APIVersion)
	}
	e.Kind = v.requiredString("kind", raw)
	if e.Kind != "" && !IsValidKind(e.Kind) {
		v.notValid("kind", expectKind, e.Kind)
	}
	switch m := raw["metadata"].(type) {
	case map[string]any:
		e.Metadata = v.metadata(m)
	case nil:
		v.add("metadata", "required")
	default:
		v.add("metadata", "must be an object")
	}
	switch s := raw["spec"].(type) {
	case map[string]any:
		e.Spec = s
		v.caseCollisions("spec", s)
	case nil:
		if _, present := raw["spec"]; present {
			v.add("spec", "must be an object")
		}
	default:
		v.add("spec", "must be an object")
	}
	if e.Kind != "" {
		v.kind(e)
	}
	return e
}

// requiredString reads a required, non-empty string field of m.
func (v *validator) requiredString(field string, m map[string]any) string {
	x, present := m[lastSegment(field)]
	if !present || x == nil {
		v.add(field, "required")
		return ""
	}
	s, ok := x.(string)
	if !ok {
		v.add(field, "must be a string, found "+typeName(x))
		return ""
	}
	if s == "" {
		v.add(field, "must not be empty")
	}
	return s
}

// optionalString reads an optional string field of m; "" when absent.
func (v *validator) optionalString(field string, m map[string]any) string {
	x, present := m[lastSegment(field)]
	if !present || x == nil {
		return ""
	}
	s, ok := x.(string)
	if !ok {
		v.add(field, "must be a string, found "+typeName(x))
	}
	return s
}

func lastSegment(field string) string {
	if i := strings.LastIndexByte(field, '.'); i >= 0 {
		return field[i+1:]
	}
	return field
}

func (v *validator) metadata(m map[string]any) Metadata {
	var md Metadata
	md.Name = v.requiredString("metadata.name", m)
	if md.Name != "" && !IsValidObjectName(md.Name) {
		v.notValid("metadata.name", expectObjectName, md.Name)
	}
	md.Namespace = v.optionalString("metadata.namespace", m)
	if ns, ok := m["namespace"].(string); ok && !IsValidDNSLabel(ns) {
		v.notValid("metadata.namespace", expectDNSLabel, ns)
	}
	if md.Namespace == "" {
		md.Namespace = DefaultNamespace
	}
	md.UID = v.optionalString("metadata.uid", m)
	md.Etag = v.optionalString("metadata.etag", m)
	md.Title = v.optionalString("metadata.title", m)
	md.Description = v.optionalString("metadata.description", m)
	md.Labels = v.stringMap("metadata.labels", m["labels"], true)
	md.Annotations = v.stringMap("metadata.annotations", m["annotations"], false)
	md.Tags = v.tags(m["tags"])
	md.Links = v.links(m["links"])
	for k, x := range m {
		if knownMetadataKey(k) {
			continue
		}
		if md.Extra == nil {
			md.Extra = map[string]any{}
		}
		md.Extra[k] = x
	}
	v.caseCollisions("metadata", m)
	return md
}

// stringMap reads labels (labels true) or annotations.
func (v *validator) stringMap(field string, x any, labels bool) map[string]string {
	if x == nil {
		return nil
	}
	m, ok := x.(map[string]any)
	if !ok {
		v.add(field, "must be an object of strings, found "+typeName(x))
		return nil
	}
	out := make(map[string]string, len(m))
	for _, k := range sortedKeys(m) {
		f := field + "." + k
		if !IsValidLabelKey(k) {
			v.notValid(f, expectPrefixed, k)
		}
		s, ok := m[k].(string)
		if !ok {
			v.add(f, fmt.Sprintf("must be a string, found %s (quote it: %q)", typeName(m[k]), display(m[k])))
			continue
		}
		if labels && !IsValidLabelValue(s) {
			v.notValid(f, expectObjectName, s)
		}
		out[k] = s
	}
	return out
}

func (v *validator) tags(x any) []string {
	if x == nil {
		return nil
	}
	items, ok := x.([]any)
	if !ok {
		v.add("metadata.tags", "must be a list of strings, found "+typeName(x))
		return nil
	}
	out := make([]string, 0, len(items))
	for i, item := range items {
		f := "metadata.tags." + strconv.Itoa(i)
		s, ok := item.(string)
		if !ok || !IsValidTag(s) {
			v.notValid(f, expectTag, item)
			continue
		}
		out = append(out, s)
	}
	return out
}

func (v *validator) links(x any) []Link {
	if x == nil {
		return nil
	}
	items, ok := x.([]any)
	if !ok {
		v.add("metadata.links", "must be a list of objects, found "+typeName(x))
		return nil
	}
	out := make([]Link, 0, len(items))
	for i, item := range items {
		f := "metadata.links." + strconv.Itoa(i)
		m, ok := item.(map[string]any)
		if !ok {
			v.add(f, "must be an object with a url, found "+typeName(item))
			continue
		}
		var l Link
		if u, ok := m["url"].(string); ok && IsValidURL(u) {
			l.URL = u
		} else {
			v.notValid(f+".url", expectURL, m["url"])
		}
		if t, present := m["title"]; present {
			if s, ok := t.(string); ok && s != "" {
				l.Title = s
			} else {
				v.notValid(f+".title", expectNonEmpty, t)
			}
		}
		if ic, present := m["icon"]; present {
			if s, ok := ic.(string); ok && IsValidObjectName(s) {
				l.Icon = s
			} else {
				v.notValid(f+".icon", expectObjectName, ic)
			}
		}
		if t, present := m["type"]; present {
			if s, ok := t.(string); ok {
				l.Type = s
			} else {
				v.add(f+".type", "must be a string, found "+typeName(t))
			}
		}
		for k := range m {
			switch k {
			case "url", "title", "icon", "type":
			default:
				v.add(f+"."+k, "unknown link field; a link has url, title, icon and type")
			}
		}
		out = append(out, l)
	}
	return out
}

// caseCollisions refuses sibling keys that differ only in case, which
// Backstage's search index cannot tell apart.
func (v *validator) caseCollisions(path string, m map[string]any) {
	switch {
	case len(m) > 16:
		seen := make(map[string]string, len(m))
		for _, k := range sortedKeys(m) {
			lk := strings.ToLower(k)
			if other, dup := seen[lk]; dup {
				v.add(path+"."+k, fmt.Sprintf("keys %q and %q differ only in case", other, k))
			}
			seen[lk] = k
		}
	case len(m) > 1:
		keys := sortedKeys(m)
		for i, a := range keys {
			for _, b := range keys[i+1:] {
				if len(a) == len(b) && strings.EqualFold(a, b) {
					v.add(path+"."+b, fmt.Sprintf("keys %q and %q differ only in case", a, b))
				}
			}
		}
	}
	for k, x := range m {
		switch t := x.(type) {
		case map[string]any:
			v.caseCollisions(path+"."+k, t)
		case []any:
			for i, item := range t {
				if im, ok := item.(map[string]any); ok {
					v.caseCollisions(path+"."+k+"."+strconv.Itoa(i), im)
				}
			}
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// typeName names the JSON type of a plain value for messages.
func typeName(x any) string {
	switch x.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int, int64, float64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", x)
}

// display renders a plain value the way JavaScript's String() would, for
// "but found" messages.
func display(x any) string {
	switch t := x.(type) {
	case nil:
		return "undefined"
	case string:
		return truncate(t, 200)
	case map[string]any:
		return "[object Object]"
	case []any:
		parts := make([]string, len(t))
		for i, item := range t {
			parts[i] = display(item)
		}
		return truncate(strings.Join(parts, ","), 200)
	}
	return scalarString(x)
}

// scalarString formats a scalar as JavaScript's String() does.
func scalarString(x any) string {
	switch t := x.(type) {
	case string:
		return t
	case bool:
		if t {
			return "true"
		}
		return "false"
	case int:
		return strconv.Itoa(t)
	case int64:
		return strconv.FormatInt(t, 10)
	case float64:
		if t == float64(int64(t)) && t < 1e21 && t > -1e21 {
			return strconv.FormatFloat(t, 'f', -1, 64)
		}
		return strconv.FormatFloat(t, 'g', -1, 64)
	case nil:
		return "null"
	}
	return fmt.Sprint(x)
}
