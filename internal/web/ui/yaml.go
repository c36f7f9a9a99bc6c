package ui

import (
	"bytes"
	"encoding/json"

	"go.yaml.in/yaml/v3"

	"github.com/atrium-portal/atrium/internal/catalog"
)

// entityYAMLText renders the entity as block YAML in the order of its JSON
// form (apiVersion, kind, metadata, spec, relations, status), since JSON is
// YAML and yaml.v3 keeps key order in its nodes.
func entityYAMLText(e *catalog.Entity) (string, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return "", err
	}
	var n yaml.Node
	if err := yaml.Unmarshal(b, &n); err != nil {
		return "", err
	}
	blockStyle(&n)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return "", err
	}
	_ = enc.Close()
	return buf.String(), nil
}

// blockStyle turns the flow style of parsed JSON into block style, keeping
// scalars' quoting where YAML needs it.
func blockStyle(n *yaml.Node) {
	if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
		n.Style = 0
	}
	if n.Kind == yaml.ScalarNode && n.Style == yaml.DoubleQuotedStyle && n.Tag == "!!str" {
		n.Style = 0
	}
	for _, c := range n.Content {
		blockStyle(c)
	}
}
