package apidocs

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// obj is a mapping that keeps its keys in document order, so operations and
// properties show in the order their authors wrote them.
type obj struct {
	keys []string
	m    map[string]any
}

func (o *obj) get(k string) any {
	if o == nil {
		return nil
	}
	return o.m[k]
}

func (o *obj) obj(k string) *obj {
	v, _ := o.get(k).(*obj)
	return v
}

func (o *obj) str(k string) string {
	v, _ := o.get(k).(string)
	return v
}

func (o *obj) list(k string) []any {
	v, _ := o.get(k).([]any)
	return v
}

func (o *obj) bool(k string) bool {
	return o.str(k) == "true"
}

// decode parses YAML or JSON (a YAML subset) into *obj, []any and string
// values. maxNodes bounds the nodes produced, aliases included, so an alias
// bomb fails instead of eating memory.
func decode(src string, maxNodes int) (*obj, error) {
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(src), &root); err != nil {
		return nil, err
	}
	if root.Kind == 0 {
		return nil, fmt.Errorf("the definition is empty")
	}
	c := converter{budget: maxNodes}
	v, err := c.convert(&root, 0)
	if err != nil {
		return nil, err
	}
	o, ok := v.(*obj)
	if !ok {
		return nil, fmt.Errorf("the definition is not a mapping of keys to values")
	}
	return o, nil
}

type converter struct{ budget int }

const maxNesting = 200

func (c *converter) convert(n *yaml.Node, depth int) (any, error) {
	c.budget--
	if c.budget < 0 {
		return nil, fmt.Errorf("the definition has too many values (aliases included)")
	}
	if depth > maxNesting {
		return nil, fmt.Errorf("line %d: the definition nests deeper than %d levels", n.Line, maxNesting)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, fmt.Errorf("the definition is empty")
		}
		return c.convert(n.Content[0], depth+1)
	case yaml.AliasNode:
		return c.convert(n.Alias, depth+1)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, ch := range n.Content {
			v, err := c.convert(ch, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		o := &obj{m: make(map[string]any, len(n.Content)/2)}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.Tag == "!!merge" {
				merged, err := c.convert(v, depth+1)
				if err != nil {
					return nil, err
				}
				if mo, ok := merged.(*obj); ok {
					for _, mk := range mo.keys {
						if _, dup := o.m[mk]; !dup {
							o.keys = append(o.keys, mk)
							o.m[mk] = mo.m[mk]
						}
					}
				}
				continue
			}
			val, err := c.convert(v, depth+1)
			if err != nil {
				return nil, err
			}
			key := k.Value
			if _, dup := o.m[key]; !dup {
				o.keys = append(o.keys, key)
			}
			o.m[key] = val
		}
		return o, nil
	default:
		return n.Value, nil
	}
}

// pointer resolves a local JSON pointer ("#/components/schemas/Pet").
func pointer(root *obj, ref string) (any, bool) {
	if !strings.HasPrefix(ref, "#/") {
		return nil, false
	}
	var cur any = root
	for _, part := range strings.Split(ref[2:], "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		switch c := cur.(type) {
		case *obj:
			v, ok := c.m[part]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// refName is the last part of a reference, for display.
func refName(ref string) string {
	if i := strings.LastIndexByte(ref, '/'); i >= 0 {
		return ref[i+1:]
	}
	return ref
}
