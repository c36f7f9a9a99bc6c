package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/atrium-portal/atrium/internal/fault"
)

// ParsePredicate parses the predicate language of POST /entities/by-query
// and POST /entity-facets (backstage.md §2.5). An object's plain keys are
// dot paths whose conditions are ANDed; a value is a string, number or
// boolean (case-insensitive equality) or one of {"$exists": bool},
// {"$in": [...]}, {"$hasPrefix": "..."}, {"$contains": value} where
// "relations" takes {"$contains": {"type": t, "targetRef": ref}}. Logical
// nodes are {"$all": [...]}, {"$any": [...]} and {"$not": {...}}. An empty
// or null predicate returns nil, matching every entity. Errors are
// fault.Invalid and say where in the predicate the problem is.
func ParsePredicate(raw json.RawMessage) (*Filter, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fault.Wrap(fault.Invalid, err, "query is not valid JSON: %s", err.Error())
	}
	if dec.More() {
		return nil, fault.New(fault.Invalid, "query is not valid JSON: unexpected data after the query object")
	}
	p := predicateParser{}
	return p.expr(v, "query", 1)
}

type predicateParser struct {
	nodes int
}

func (p *predicateParser) fail(where, format string, args ...any) error {
	return fault.New(fault.Invalid, "%s: %s", where, fmt.Sprintf(format, args...))
}

func (p *predicateParser) count(where string, depth int) error {
	p.nodes++
	if p.nodes > MaxPredicateNodes {
		return p.fail(where, "query has more than %d conditions", MaxPredicateNodes)
	}
	if depth > MaxPredicateDepth {
		return p.fail(where, "query is nested more than %d levels deep", MaxPredicateDepth)
	}
	return nil
}

// expr parses an object expression.
func (p *predicateParser) expr(x any, where string, depth int) (*Filter, error) {
	if err := p.count(where, depth); err != nil {
		return nil, err
	}
	obj, ok := x.(map[string]any)
	if !ok {
		return nil, p.fail(where, "expected an object, found %s", jsonTypeName(x))
	}
	if len(obj) > MaxFilterConditions {
		return nil, p.fail(where, "object has more than %d keys", MaxFilterConditions)
	}
	var children []*Filter
	for _, k := range sortedKeys(obj) {
		v := obj[k]
		at := where + "." + k
		var f *Filter
		var err error
		switch {
		case k == "$all" || k == "$any":
			f, err = p.logical(k, v, at, depth)
		case k == "$not":
			var child *Filter
			child, err = p.expr(v, at, depth+1)
			f = Not(child)
		case strings.HasPrefix(k, "$"):
			err = p.fail(at, "unknown operator %q; expected $all, $any, $not or a field path", k)
		case strings.TrimSpace(k) == "":
			err = p.fail(at, "field path must not be empty")
		default:
			f, err = p.value(strings.ToLower(strings.TrimSpace(k)), v, at, depth+1)
		}
		if err != nil {
			return nil, err
		}
		children = append(children, f)
	}
	if len(children) == 1 {
		return children[0], nil
	}
	return All(children...), nil
}

func (p *predicateParser) logical(op string, v any, where string, depth int) (*Filter, error) {
	items, ok := v.([]any)
	if !ok {
		return nil, p.fail(where, "%s needs a list of expressions, found %s", op, jsonTypeName(v))
	}
	if len(items) > MaxFilterConditions {
		return nil, p.fail(where, "%s has more than %d expressions", op, MaxFilterConditions)
	}
	children := make([]*Filter, 0, len(items))
	for i, item := range items {
		f, err := p.expr(item, where+"["+strconv.Itoa(i)+"]", depth+1)
		if err != nil {
			return nil, err
		}
		children = append(children, f)
	}
	if op == "$all" {
		return All(children...), nil
	}
	return Any(children...), nil
}

// value parses the condition on one field path.
func (p *predicateParser) value(key string, v any, where string, depth int) (*Filter, error) {
	if err := p.count(where, depth); err != nil {
		return nil, err
	}
	if s, ok := primitive(v); ok {
		return In(key, s), nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, p.fail(where, "expected a string, number, boolean or operator object, found %s", jsonTypeName(v))
	}
	if len(m) != 1 {
		return nil, p.fail(where, "an operator object has exactly one key ($exists, $in, $hasPrefix or $contains), found %d", len(m))
	}
	for op, arg := range m {
		at := where + "." + op
		switch op {
		case "$exists":
			b, ok := arg.(bool)
			if !ok {
				return nil, p.fail(at, "$exists needs true or false, found %s", jsonTypeName(arg))
			}
			if b {
				return Exists(key), nil
			}
			return Not(Exists(key)), nil
		case "$in":
			values, err := p.primitives(arg, at)
			if err != nil {
				return nil, err
			}
			return In(key, values...), nil
		case "$hasPrefix":
			s, ok := arg.(string)
			if !ok {
				return nil, p.fail(at, "$hasPrefix needs a string, found %s", jsonTypeName(arg))
			}
			return Prefix(key, strings.ToLower(s)), nil
		case "$contains":
			return p.contains(key, arg, at)
		case "$not":
			return nil, p.fail(at, "$not is not allowed as a value matcher; write {\"$not\": {%q: ...}}", key)
		default:
			if !strings.HasPrefix(op, "$") {
				return nil, p.fail(at, "%q is not an operator; nested objects are not field paths, write the dot path as the key (%q)", op, key+"."+strings.ToLower(op))
			}
			return nil, p.fail(at, "unknown operator %q; expected $exists, $in, $hasPrefix or $contains", op)
		}
	}
	return nil, nil // unreachable: m has one key
}

func (p *predicateParser) contains(key string, arg any, where string) (*Filter, error) {
	if s, ok := primitive(arg); ok {
		return In(key, s), nil
	}
	rel, ok := arg.(map[string]any)
	if !ok || key != "relations" {
		return nil, p.fail(where, "$contains needs a string, number or boolean (or {type, targetRef} on \"relations\"), found %s", jsonTypeName(arg))
	}
	typ, ok := rel["type"].(string)
	if !ok || strings.TrimSpace(typ) == "" {
		return nil, p.fail(where+".type", "a relation needs a type string, found %s", jsonTypeName(rel["type"]))
	}
	for k := range rel {
		if k != "type" && k != "targetRef" {
			return nil, p.fail(where+"."+k, "unknown relation field; expected type and targetRef")
		}
	}
	relKey := "relations." + strings.ToLower(strings.TrimSpace(typ))
	target, present := rel["targetRef"]
	if !present {
		return Exists(relKey), nil
	}
	at := where + ".targetRef"
	if s, ok := target.(string); ok {
		return In(relKey, strings.ToLower(s)), nil
	}
	if m, ok := target.(map[string]any); ok && len(m) == 1 {
		if in, ok := m["$in"]; ok {
			values, err := p.primitives(in, at+".$in")
			if err != nil {
				return nil, err
			}
			return In(relKey, values...), nil
		}
	}
	return nil, p.fail(at, "targetRef needs an entity ref string or {\"$in\": [...]}, found %s", jsonTypeName(target))
}

func (p *predicateParser) primitives(arg any, where string) ([]string, error) {
	items, ok := arg.([]any)
	if !ok {
		return nil, p.fail(where, "$in needs a list, found %s", jsonTypeName(arg))
	}
	if len(items) > MaxFilterValues {
		return nil, p.fail(where, "$in has more than %d values", MaxFilterValues)
	}
	values := make([]string, 0, len(items))
	for i, item := range items {
		s, ok := primitive(item)
		if !ok {
			return nil, p.fail(where+"["+strconv.Itoa(i)+"]", "expected a string, number or boolean, found %s", jsonTypeName(item))
		}
		values = append(values, s)
	}
	return values, nil
}

// primitive returns a string, number or boolean as the lowercased string the
// search index holds.
func primitive(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return strings.ToLower(t), true
	case bool:
		return scalarString(t), true
	case json.Number:
		if f, err := strconv.ParseFloat(string(t), 64); err == nil {
			return strings.ToLower(scalarString(f)), true
		}
		return strings.ToLower(string(t)), true
	case float64:
		return strings.ToLower(scalarString(t)), true
	}
	return "", false
}

func jsonTypeName(v any) string {
	switch v.(type) {
	case json.Number:
		return "a number"
	}
	return typeName(v)
}
