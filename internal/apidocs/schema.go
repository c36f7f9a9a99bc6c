package apidocs

import (
	"html/template"
	"strings"

	"github.com/atrium-portal/atrium/internal/markdown"
)

// Schema is one node of a rendered schema tree.
type Schema struct {
	// Name is the property name ("" for the root, "[]" for array items).
	Name     string
	Type     string
	Format   string
	Required bool
	// Ref names the schema this node came from through $ref.
	Ref         string
	Description template.HTML
	Enum        []string
	Default     string
	Example     string
	// Cycle marks a $ref back to a schema already being shown above.
	Cycle bool
	// Unresolved holds a $ref that points nowhere in the document.
	Unresolved string
	// Combinator is "one of", "any of" or "all of" for the children.
	Combinator string
	Children   []*Schema
	// Cut is set when the depth or size limit stopped the tree here.
	Cut bool
}

// schemaWalker builds schema trees within one document, sharing a node
// budget so that a huge definition renders a bounded page.
type schemaWalker struct {
	root     *obj
	budget   int
	maxDepth int
}

// build turns a schema value into a tree; stack holds the $refs being
// expanded above it, to stop cycles.
func (w *schemaWalker) build(name string, v any, required bool, depth int, stack []string) *Schema {
	s := &Schema{Name: name, Required: required}
	w.budget--
	if w.budget < 0 || depth > w.maxDepth {
		s.Cut = true
		return s
	}
	o, _ := v.(*obj)
	if o == nil {
		return s
	}
	if ref := o.str("$ref"); ref != "" {
		s.Ref = refName(ref)
		for _, r := range stack {
			if r == ref {
				s.Cycle = true
				return s
			}
		}
		target, ok := pointer(w.root, ref)
		if !ok {
			s.Unresolved = ref
			return s
		}
		inner := w.build(name, target, required, depth, append(stack, ref))
		inner.Ref = s.Ref
		if inner.Description == "" {
			inner.Description = markdown.HTML(o.str("description"))
		}
		return inner
	}
	s.Type = typeOf(o)
	s.Format = o.str("format")
	s.Description = markdown.HTML(o.str("description"))
	for _, e := range o.list("enum") {
		if str, ok := e.(string); ok {
			s.Enum = append(s.Enum, str)
		}
	}
	s.Default = scalar(o.get("default"))
	s.Example = scalar(o.get("example"))

	for _, comb := range []struct{ key, label string }{{"allOf", "all of"}, {"oneOf", "one of"}, {"anyOf", "any of"}} {
		if list := o.list(comb.key); len(list) > 0 {
			s.Combinator = comb.label
			for _, item := range list {
				s.Children = append(s.Children, w.build("", item, false, depth+1, stack))
			}
			return s
		}
	}
	if items := o.get("items"); items != nil {
		child := w.build("[]", items, false, depth+1, stack)
		s.Children = append(s.Children, child)
		if child.Ref != "" {
			s.Type = "array of " + child.Ref
		} else if child.Type != "" {
			s.Type = "array of " + child.Type
		}
	}
	if props := o.obj("properties"); props != nil {
		req := map[string]bool{}
		for _, r := range o.list("required") {
			if str, ok := r.(string); ok {
				req[str] = true
			}
		}
		for _, k := range props.keys {
			s.Children = append(s.Children, w.build(k, props.m[k], req[k], depth+1, stack))
		}
	}
	if ap, ok := o.get("additionalProperties").(*obj); ok {
		s.Children = append(s.Children, w.build("{key}", ap, false, depth+1, stack))
	}
	return s
}

// typeOf is a schema's type as people read it.
func typeOf(o *obj) string {
	switch t := o.get("type").(type) {
	case string:
		if o.bool("nullable") {
			return t + " | null"
		}
		return t
	case []any:
		var parts []string
		for _, p := range t {
			if s, ok := p.(string); ok {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, " | ")
	}
	if o.get("properties") != nil {
		return "object"
	}
	if o.get("items") != nil {
		return "array"
	}
	return ""
}

// scalar shows a default or example value; structured ones are left out.
func scalar(v any) string {
	s, _ := v.(string)
	return s
}
