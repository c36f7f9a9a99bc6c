package ui

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
)

// prop is one property of an object schema as the form shows it.
type prop struct {
	name     string
	schema   map[string]any
	required bool
	// cond is nil for a property that is always shown.
	cond *cond
}

// cond says when a conditional property (from `dependencies`) is shown:
// when the sibling property on has a value (values nil), or when its value
// is one of values (a oneOf branch chosen by enum or const).
type cond struct {
	on     string
	values []any
}

// holds reports whether the condition is met by the object's values.
func (c *cond) holds(obj map[string]any) bool {
	if c == nil {
		return true
	}
	v, ok := obj[c.on]
	if !ok || isEmpty(v) {
		return false
	}
	if c.values == nil {
		return true
	}
	for _, want := range c.values {
		if sameJSON(v, want) {
			return true
		}
	}
	return false
}

// isEmpty is the form's notion of "no value": absent, "", false, [] or nil.
func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case bool:
		return !x
	case []any:
		return len(x) == 0
	}
	return false
}

// sameJSON compares two decoded JSON values (numbers by value).
func sameJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func asStrings(v any) []string {
	var out []string
	for _, x := range asList(v) {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// objectProps lists the properties of an object schema in display order:
// `ui:order` when the schema has one; otherwise the required properties in
// the order of `required`, then the others alphabetically (the catalog
// keeps entities as JSON objects, whose key order is not preserved).
// Properties that `dependencies` adds follow, each with its condition.
func objectProps(s map[string]any) []prop {
	props := asMap(s["properties"])
	required := map[string]bool{}
	for _, r := range asStrings(s["required"]) {
		required[r] = true
	}
	var out []prop
	for _, name := range orderNames(s, props) {
		out = append(out, prop{name: name, schema: asMap(props[name]), required: required[name]})
	}
	seen := map[string]int{}
	for i, p := range out {
		seen[p.name] = i
	}
	deps := asMap(s["dependencies"])
	for _, on := range sortedKeys(deps) {
		dep := asMap(deps[on])
		if dep == nil {
			continue // a property dependency (a list of names): validation only
		}
		branches := asList(dep["oneOf"])
		if branches == nil {
			branches = []any{dep}
		}
		for _, b := range branches {
			branch := asMap(b)
			bprops := asMap(branch["properties"])
			var values []any
			if _, isOneOf := dep["oneOf"]; isOneOf {
				values = branchValues(asMap(bprops[on]))
				if values == nil {
					continue // a branch that does not name its value cannot be chosen
				}
			}
			breq := map[string]bool{}
			for _, r := range asStrings(branch["required"]) {
				breq[r] = true
			}
			for _, name := range orderNames(branch, bprops) {
				if name == on {
					continue
				}
				if i, ok := seen[name]; ok {
					// The same property in several branches is one field,
					// shown for any of their values.
					if c := out[i].cond; c != nil && c.on == on && c.values != nil {
						c.values = append(c.values, values...)
					}
					continue
				}
				seen[name] = len(out)
				out = append(out, prop{name: name, schema: asMap(bprops[name]), required: breq[name], cond: &cond{on: on, values: values}})
			}
		}
	}
	return out
}

// branchValues are the values of the controlling property that choose a
// oneOf branch: its enum, or its const.
func branchValues(s map[string]any) []any {
	if s == nil {
		return nil
	}
	if e := asList(s["enum"]); e != nil {
		return append([]any{}, e...)
	}
	if c, ok := s["const"]; ok {
		return []any{c}
	}
	return nil
}

func orderNames(s, props map[string]any) []string {
	names := sortedKeys(props)
	order := asStrings(s["ui:order"])
	if order == nil {
		var req []string
		inReq := map[string]bool{}
		for _, r := range asStrings(s["required"]) {
			if _, ok := props[r]; ok && !inReq[r] {
				req = append(req, r)
				inReq[r] = true
			}
		}
		out := req
		for _, n := range names {
			if !inReq[n] {
				out = append(out, n)
			}
		}
		return out
	}
	// ui:order: listed names first, "*" stands for the rest.
	listed := map[string]bool{}
	for _, n := range order {
		listed[n] = true
	}
	var rest []string
	for _, n := range names {
		if !listed[n] {
			rest = append(rest, n)
		}
	}
	var out []string
	star := false
	for _, n := range order {
		if n == "*" {
			out = append(out, rest...)
			star = true
			continue
		}
		if _, ok := props[n]; ok {
			out = append(out, n)
		}
	}
	if !star {
		out = append(out, rest...)
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// effective returns the schema that the values must satisfy, as plain JSON
// Schema: ui:* and backstage:* keys removed, and each schema dependency
// replaced by what it adds for these values (the chosen oneOf branch, or
// the dependent schema when its property has a value). Validating against
// it reports errors at the fields the person sees, instead of one error
// per oneOf branch.
func effective(s map[string]any, v any) map[string]any {
	out := map[string]any{}
	for k, x := range s {
		if strings.HasPrefix(k, "ui:") || strings.HasPrefix(k, "backstage:") {
			continue
		}
		out[k] = stripUI(x)
	}
	obj := asMap(v)
	if _, ok := s["properties"]; !ok {
		return out
	}
	props := map[string]any{}
	for k, x := range asMap(s["properties"]) {
		props[k] = x
	}
	var required []any
	for _, r := range asStrings(s["required"]) {
		required = append(required, r)
	}
	if deps := asMap(s["dependencies"]); deps != nil {
		kept := map[string]any{}
		for on, d := range deps {
			dep := asMap(d)
			if dep == nil {
				kept[on] = d // a list of required names: keep as is
				continue
			}
			branches := asList(dep["oneOf"])
			_, isOneOf := dep["oneOf"]
			if !isOneOf {
				branches = []any{dep}
			}
			for _, b := range branches {
				branch := asMap(b)
				bprops := asMap(branch["properties"])
				c := &cond{on: on}
				if isOneOf {
					if c.values = branchValues(asMap(bprops[on])); c.values == nil {
						continue
					}
				}
				if obj == nil || !c.holds(obj) {
					continue
				}
				for name, ps := range bprops {
					if _, ok := props[name]; !ok {
						props[name] = ps
					}
				}
				for _, r := range asStrings(branch["required"]) {
					required = append(required, r)
				}
				if isOneOf {
					break
				}
			}
		}
		if len(kept) > 0 {
			out["dependencies"] = kept
		} else {
			delete(out, "dependencies")
		}
	}
	eprops := map[string]any{}
	for name, ps := range props {
		var child any
		if obj != nil {
			child = obj[name]
		}
		eprops[name] = effective(asMap(ps), child)
	}
	out["properties"] = eprops
	if len(required) > 0 {
		out["required"] = required
	}
	return out
}

// stripUI copies a schema without ui:* and backstage:* keys.
func stripUI(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			if strings.HasPrefix(k, "ui:") || strings.HasPrefix(k, "backstage:") {
				continue
			}
			out[k] = stripUI(val)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = stripUI(val)
		}
		return out
	}
	return v
}

// scalarString is how a JSON scalar is written in an input.
func scalarString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case json.Number:
		return x.String()
	}
	b, _ := json.Marshal(v)
	return string(b)
}
