package config

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// nodeKind is the shape of a configuration value.
type nodeKind int

const (
	kindNull nodeKind = iota
	kindScalar
	kindMap
	kindSeq
)

// node is one configuration value with where it came from, so that every
// error can name the file and line that caused it.
type node struct {
	kind   nodeKind
	file   string
	line   int
	text   string // scalar text after substitution
	tag    string // YAML tag of a scalar: !!str, !!int, !!bool, !!float, !!null
	keys   []string
	keyPos []int // line of each key
	values map[string]*node
	items  []*node
}

// where returns "file:line" or "file" when the line is unknown.
func (n *node) where() string {
	if n.line > 0 {
		return fmt.Sprintf("%s:%d", n.file, n.line)
	}
	return n.file
}

// fromYAML converts a parsed YAML node. Aliases are resolved by copying, with
// a budget that stops alias bombs.
func fromYAML(file string, y *yaml.Node, budget *int) (*node, error) {
	*budget--
	if *budget < 0 {
		return nil, fmt.Errorf("%s:%d: document too large or too many aliases", file, y.Line)
	}
	switch y.Kind {
	case 0:
		return &node{kind: kindNull, file: file}, nil
	case yaml.DocumentNode:
		if len(y.Content) == 0 {
			return &node{kind: kindNull, file: file, line: y.Line}, nil
		}
		return fromYAML(file, y.Content[0], budget)
	case yaml.AliasNode:
		return fromYAML(file, y.Alias, budget)
	case yaml.ScalarNode:
		if y.Tag == "!!null" {
			return &node{kind: kindNull, file: file, line: y.Line}, nil
		}
		return &node{kind: kindScalar, file: file, line: y.Line, text: y.Value, tag: y.Tag}, nil
	case yaml.SequenceNode:
		n := &node{kind: kindSeq, file: file, line: y.Line}
		for _, c := range y.Content {
			cn, err := fromYAML(file, c, budget)
			if err != nil {
				return nil, err
			}
			n.items = append(n.items, cn)
		}
		return n, nil
	case yaml.MappingNode:
		n := &node{kind: kindMap, file: file, line: y.Line, values: map[string]*node{}}
		for i := 0; i+1 < len(y.Content); i += 2 {
			k, v := y.Content[i], y.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
				return nil, fmt.Errorf("%s:%d: YAML merge keys (<<) are not supported", file, k.Line)
			}
			if k.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("%s:%d: mapping keys must be strings", file, k.Line)
			}
			if _, dup := n.values[k.Value]; dup {
				return nil, fmt.Errorf("%s:%d: duplicate key %q", file, k.Line, k.Value)
			}
			vn, err := fromYAML(file, v, budget)
			if err != nil {
				return nil, err
			}
			n.set(k.Value, k.Line, vn)
		}
		return n, nil
	}
	return nil, fmt.Errorf("%s:%d: unsupported YAML node", file, y.Line)
}

// fromValue converts a decoded JSON value (from an environment override).
func fromValue(file string, v any) *node {
	switch v := v.(type) {
	case nil:
		return &node{kind: kindNull, file: file}
	case string:
		return &node{kind: kindScalar, file: file, text: v, tag: "!!str"}
	case bool:
		return &node{kind: kindScalar, file: file, text: strconv.FormatBool(v), tag: "!!bool"}
	case json.Number:
		tag := "!!float"
		if _, err := v.Int64(); err == nil {
			tag = "!!int"
		}
		return &node{kind: kindScalar, file: file, text: v.String(), tag: tag}
	case []any:
		n := &node{kind: kindSeq, file: file}
		for _, e := range v {
			n.items = append(n.items, fromValue(file, e))
		}
		return n
	case map[string]any:
		n := &node{kind: kindMap, file: file, values: map[string]*node{}}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			n.set(k, 0, fromValue(file, v[k]))
		}
		return n
	}
	return &node{kind: kindScalar, file: file, text: fmt.Sprint(v), tag: "!!str"}
}

// set adds or replaces key in a map node, keeping first-seen key order.
func (n *node) set(key string, line int, v *node) {
	if _, ok := n.values[key]; !ok {
		n.keys = append(n.keys, key)
		n.keyPos = append(n.keyPos, line)
	} else {
		for i, k := range n.keys {
			if k == key {
				n.keyPos[i] = line
			}
		}
	}
	n.values[key] = v
}

// keyLine returns the line of key in a map node, or the map's own line.
func (n *node) keyLine(key string) int {
	for i, k := range n.keys {
		if k == key && n.keyPos[i] > 0 {
			return n.keyPos[i]
		}
	}
	return n.line
}

// merge deep-merges over onto base: maps merge key by key, anything else in
// over replaces what base had. Neither argument is modified.
func merge(base, over *node) *node {
	if base == nil {
		return over
	}
	if over == nil {
		return base
	}
	if base.kind != kindMap || over.kind != kindMap {
		return over
	}
	out := &node{kind: kindMap, file: over.file, line: over.line, values: map[string]*node{}}
	for i, k := range base.keys {
		out.set(k, base.keyPos[i], base.values[k])
	}
	for i, k := range over.keys {
		out.set(k, over.keyPos[i], merge(out.values[k], over.values[k]))
		// The key's position is the overriding file's; keep the file with it.
	}
	return out
}
