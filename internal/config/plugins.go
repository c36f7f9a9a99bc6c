package config

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
)

// Plugin is plugins.<id>: whether a plugin is used and its configuration.
// The configuration is kept as JSON and validated against the plugin's own
// JSON Schema when the plugin is loaded (internal/app/plugins.go).
type Plugin struct {
	// Enabled is nil when not set: built-ins are enabled by default.
	Enabled *bool
	// Config is plugins.<id>.config as JSON (nil when absent).
	Config json.RawMessage
	// File and Line are where plugins.<id> was written, for errors.
	File string
	Line int
}

var pluginID = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// plugins decodes the top-level plugins section.
func (d *decoder) plugins(n *node, path string, out *map[string]Plugin) {
	if n.kind == kindNull {
		return
	}
	if n.kind != kindMap {
		d.fail(n, path, "must be an object of plugin ids, got %s", describe(n))
		return
	}
	if *out == nil {
		*out = map[string]Plugin{}
	}
	for _, id := range n.keys {
		v := n.values[id]
		p := join(path, id)
		if !pluginID.MatchString(id) {
			d.fail(v, p, "%q is not a plugin id (lower-case letters, digits and dashes)", id)
			continue
		}
		pl := Plugin{File: v.file, Line: v.line}
		d.fields(v, p, map[string]func(*node, string){
			"enabled": func(v *node, p string) {
				var b bool
				d.boolean(v, p, &b)
				pl.Enabled = &b
			},
			"config": func(v *node, p string) {
				if v.kind == kindNull {
					return
				}
				b, err := json.Marshal(v.jsonValue())
				if err != nil {
					d.fail(v, p, "cannot be encoded as JSON: %v", err)
					return
				}
				pl.Config = b
			},
		})
		(*out)[id] = pl
	}
}

// jsonValue returns the node as a JSON value, scalars typed by their YAML
// tag (numbers, booleans, null), so a plugin's schema sees what YAML meant.
func (n *node) jsonValue() any {
	switch n.kind {
	case kindMap:
		m := make(map[string]any, len(n.keys))
		for _, k := range n.keys {
			m[k] = n.values[k].jsonValue()
		}
		return m
	case kindSeq:
		s := make([]any, len(n.items))
		for i, it := range n.items {
			s[i] = it.jsonValue()
		}
		return s
	case kindScalar:
		switch n.tag {
		case "!!int", "!!float":
			if f, err := strconv.ParseFloat(strings.ReplaceAll(n.text, "_", ""), 64); err == nil {
				return json.Number(strconv.FormatFloat(f, 'f', -1, 64))
			}
		case "!!bool":
			if b, err := strconv.ParseBool(strings.ToLower(n.text)); err == nil {
				return b
			}
		case "!!null":
			return nil
		}
		return n.text
	}
	return nil
}
