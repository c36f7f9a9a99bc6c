package apidocs

import (
	"html/template"
	"strings"

	"github.com/atrium-portal/atrium/internal/markdown"
)

// openAPIDoc is what the openapi template shows.
type openAPIDoc struct {
	Title, Version string
	Spec           string // "OpenAPI 3.0.3", "Swagger 2.0"
	Description    template.HTML
	Servers        []server
	Groups         []opGroup
	// Omitted counts operations left out by MaxOperations.
	Omitted int
	Schemas []*Schema
}

type server struct {
	URL         string
	Description template.HTML
}

type opGroup struct {
	Tag         string
	Description template.HTML
	Ops         []*operation
}

type operation struct {
	Anchor      string
	Method      string
	Path        string
	Summary     string
	ID          string
	Description template.HTML
	Deprecated  bool
	Params      []param
	Body        *body
	Responses   []response
}

type param struct {
	Name, In    string
	Required    bool
	Deprecated  bool
	Schema      *Schema
	Description template.HTML
}

type body struct {
	Required    bool
	Description template.HTML
	Media       []media
}

type media struct {
	Type   string
	Schema *Schema
}

type response struct {
	Code        string
	Description template.HTML
	Media       []media
}

var methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// openAPI builds the view of an OpenAPI 3 or Swagger 2 document.
func openAPI(root *obj, lim Limits) *openAPIDoc {
	w := &schemaWalker{root: root, budget: lim.MaxSchemaNodes, maxDepth: lim.MaxSchemaDepth}
	info := root.obj("info")
	d := &openAPIDoc{
		Title:       info.str("title"),
		Version:     info.str("version"),
		Description: markdown.HTML(info.str("description")),
	}
	swagger := root.str("swagger") != ""
	if swagger {
		d.Spec = "Swagger " + root.str("swagger")
		host := root.str("host")
		if host != "" {
			schemes := root.list("schemes")
			if len(schemes) == 0 {
				schemes = []any{"https"}
			}
			for _, s := range schemes {
				if str, ok := s.(string); ok {
					d.Servers = append(d.Servers, server{URL: str + "://" + host + root.str("basePath")})
				}
			}
		}
	} else {
		d.Spec = "OpenAPI " + root.str("openapi")
		for _, s := range root.list("servers") {
			so, _ := s.(*obj)
			if so.str("url") != "" {
				d.Servers = append(d.Servers, server{URL: so.str("url"), Description: markdown.HTML(so.str("description"))})
			}
		}
	}

	tagDesc := map[string]template.HTML{}
	var tagOrder []string
	for _, t := range root.list("tags") {
		to, _ := t.(*obj)
		if name := to.str("name"); name != "" {
			tagDesc[name] = markdown.HTML(to.str("description"))
			tagOrder = append(tagOrder, name)
		}
	}
	groups := map[string]*opGroup{}
	var extra []string
	count := 0
	paths := root.obj("paths")
	for _, p := range pathKeys(paths) {
		item := paths.obj(p)
		if item == nil {
			continue
		}
		shared := item.list("parameters")
		for _, m := range methods {
			op := item.obj(m)
			if op == nil {
				continue
			}
			if count >= lim.MaxOperations {
				d.Omitted++
				continue
			}
			count++
			o := buildOperation(w, root, p, m, op, shared, swagger)
			tag := "Other operations"
			if tags := op.list("tags"); len(tags) > 0 {
				if s, ok := tags[0].(string); ok && s != "" {
					tag = s
				}
			}
			g := groups[tag]
			if g == nil {
				g = &opGroup{Tag: tag, Description: tagDesc[tag]}
				groups[tag] = g
				if _, declared := tagDesc[tag]; !declared {
					extra = append(extra, tag)
				}
			}
			g.Ops = append(g.Ops, o)
		}
	}
	for _, t := range append(tagOrder, extra...) {
		if g := groups[t]; g != nil {
			d.Groups = append(d.Groups, *g)
			delete(groups, t)
		}
	}

	schemas := root.obj("components").obj("schemas")
	prefix := "#/components/schemas/"
	if swagger {
		schemas, prefix = root.obj("definitions"), "#/definitions/"
	}
	for _, k := range schemas.keysOrNil() {
		s := w.build(k, &obj{keys: []string{"$ref"}, m: map[string]any{"$ref": prefix + escapePointer(k)}}, false, 0, nil)
		s.Name = k
		d.Schemas = append(d.Schemas, s)
	}
	return d
}

func (o *obj) keysOrNil() []string {
	if o == nil {
		return nil
	}
	return o.keys
}

// pathKeys returns the path keys in document order.
func pathKeys(paths *obj) []string { return paths.keysOrNil() }

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// deref follows a local $ref of a parameter, request body or response.
func deref(root *obj, v any) *obj {
	o, _ := v.(*obj)
	for i := 0; i < 8 && o != nil && o.str("$ref") != ""; i++ {
		t, ok := pointer(root, o.str("$ref"))
		if !ok {
			return o
		}
		o, _ = t.(*obj)
	}
	return o
}

func buildOperation(w *schemaWalker, root *obj, path, method string, op *obj, shared []any, swagger bool) *operation {
	o := &operation{
		Method:      strings.ToUpper(method),
		Path:        path,
		Summary:     op.str("summary"),
		ID:          op.str("operationId"),
		Description: markdown.HTML(op.str("description")),
		Deprecated:  op.bool("deprecated"),
	}
	o.Anchor = "op-" + anchor(method+"-"+path)
	if o.ID != "" {
		o.Anchor = "op-" + anchor(o.ID)
	}
	seen := map[string]bool{}
	all := append(append([]any{}, op.list("parameters")...), shared...)
	for _, pv := range all {
		p := deref(root, pv)
		if p == nil {
			continue
		}
		key := p.str("in") + ":" + p.str("name")
		if seen[key] {
			continue // operation-level parameters override path-level ones
		}
		seen[key] = true
		if swagger && p.str("in") == "body" {
			o.Body = &body{Required: p.bool("required"), Description: markdown.HTML(p.str("description")),
				Media: []media{{Type: "body", Schema: w.build("", p.get("schema"), false, 0, nil)}}}
			continue
		}
		schemaV := p.get("schema")
		if swagger {
			schemaV = p
		}
		o.Params = append(o.Params, param{
			Name: p.str("name"), In: p.str("in"), Required: p.bool("required"), Deprecated: p.bool("deprecated"),
			Description: markdown.HTML(p.str("description")),
			Schema:      w.build("", schemaV, false, 0, nil),
		})
	}
	if rb := deref(root, op.get("requestBody")); rb != nil {
		o.Body = &body{Required: rb.bool("required"), Description: markdown.HTML(rb.str("description")), Media: contentOf(w, rb)}
	}
	responses := op.obj("responses")
	for _, code := range responses.keysOrNil() {
		r := deref(root, responses.m[code])
		resp := response{Code: code, Description: markdown.HTML(r.str("description"))}
		if swagger {
			if s := r.get("schema"); s != nil {
				resp.Media = []media{{Type: "body", Schema: w.build("", s, false, 0, nil)}}
			}
		} else {
			resp.Media = contentOf(w, r)
		}
		o.Responses = append(o.Responses, resp)
	}
	return o
}

func contentOf(w *schemaWalker, o *obj) []media {
	c := o.obj("content")
	var out []media
	for _, mt := range c.keysOrNil() {
		m, _ := c.m[mt].(*obj)
		out = append(out, media{Type: mt, Schema: w.build("", m.get("schema"), false, 0, nil)})
	}
	return out
}

// anchor makes an id from s: letters, digits and dashes.
func anchor(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimRight(b.String(), "-")
}
