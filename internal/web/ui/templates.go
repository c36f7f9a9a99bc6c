package ui

import (
	"embed"
	"html/template"
	"net/url"
	"strings"

	"github.com/atrium-portal/atrium/internal/catalog"
)

//go:embed templates/*.html
var templateFS embed.FS

// parseTemplates parses every template at start-up, so a broken template
// stops the server from starting instead of failing a request.
func parseTemplates(a assets) (*template.Template, error) {
	funcs := template.FuncMap{
		"static":      a.url,
		"entityHref":  entityHref,
		"refHref":     entityHrefFromRef,
		"refLabel":    refLabel,
		"refKind":     refKind,
		"kindLabel":   kindLabel,
		"lifecycle":   lifecycleClass,
		"safeURL":     safeURL,
		"entityTitle": entityTitle,
		"specString":  specString,
		"plural":      plural,
		"add":         func(a, b int) int { return a + b },
		"cellOf":      cellOf,
		"relTarget":   relTarget,
		"profile":     profile,
		"truncate":    truncate,
		"lower":       strings.ToLower,
	}
	return template.New("ui").Funcs(funcs).ParseFS(templateFS, "templates/*.html")
}

// entityHref is the page of an entity: /catalog/{namespace}/{kind}/{name}.
func entityHref(e *catalog.Entity) string {
	if e == nil {
		return ""
	}
	return refPath(e.Ref())
}

// entityHrefFromRef is the page of the entity a ref names, or "" when the
// string is not a ref (service principals, for example).
func entityHrefFromRef(ref string) string {
	r, err := catalog.ParseRef(ref, catalog.RefDefaults{})
	if err != nil || r.Kind == "" {
		return ""
	}
	return refPath(r)
}

func refPath(r catalog.Ref) string {
	ns := r.Namespace
	if ns == "" {
		ns = catalog.DefaultNamespace
	}
	return "/catalog/" + url.PathEscape(strings.ToLower(ns)) + "/" + url.PathEscape(strings.ToLower(r.Kind)) + "/" + url.PathEscape(r.Name)
}

// refLabel is a ref as people read it: the name, prefixed with the
// namespace when it is not the default one.
func refLabel(ref string) string {
	r, err := catalog.ParseRef(ref, catalog.RefDefaults{})
	if err != nil {
		return ref
	}
	if r.Namespace != "" && !strings.EqualFold(r.Namespace, catalog.DefaultNamespace) {
		return r.Namespace + "/" + r.Name
	}
	return r.Name
}

// refKind is the lowercased kind of a ref ("" when it has none).
func refKind(ref string) string {
	r, err := catalog.ParseRef(ref, catalog.RefDefaults{})
	if err != nil {
		return ""
	}
	return strings.ToLower(r.Kind)
}

// kindLabel capitalises a kind for display ("component" → "Component").
func kindLabel(kind string) string {
	for _, k := range knownKinds {
		if strings.EqualFold(k, kind) {
			return k
		}
	}
	if kind == "" {
		return ""
	}
	return strings.ToUpper(kind[:1]) + kind[1:]
}

// knownKinds are Backstage's built-in kinds in the order the portal lists them.
var knownKinds = []string{"Component", "API", "Resource", "System", "Domain", "Group", "User", "Location", "Template"}

// lifecycleClass is the badge class of a lifecycle value.
func lifecycleClass(v string) string {
	switch strings.ToLower(v) {
	case "production":
		return "badge ok"
	case "experimental":
		return "badge info"
	case "deprecated":
		return "badge warn"
	case "":
		return ""
	}
	return "badge"
}

// safeURL returns u when it is an http, https or mailto URL, else "". The
// pages render unsafe links (javascript:, data:) as plain text.
func safeURL(u string) string {
	p, err := url.Parse(strings.TrimSpace(u))
	if err != nil {
		return ""
	}
	switch strings.ToLower(p.Scheme) {
	case "http", "https", "mailto":
		return p.String()
	}
	return ""
}

// entityTitle is metadata.title, else metadata.name.
func entityTitle(e *catalog.Entity) string {
	if e.Metadata.Title != "" {
		return e.Metadata.Title
	}
	return e.Metadata.Name
}

// specString reads a string field of spec ("" when absent or not a string).
func specString(e *catalog.Entity, key string) string {
	s, _ := e.Spec[key].(string)
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// cell pairs an entity with a column key for the "cell" template.
type cell struct {
	Key    string
	Entity *catalog.Entity
}

func cellOf(key string, e *catalog.Entity) cell { return cell{Key: key, Entity: e} }

// relTarget returns the first target of the entity's relations of type typ
// (case-insensitive), optionally only targets of the given kind.
func relTarget(e *catalog.Entity, typ, kind string) string {
	for _, r := range e.Relations {
		if !strings.EqualFold(r.Type, typ) {
			continue
		}
		if kind != "" && refKind(r.TargetRef) != kind {
			continue
		}
		return r.TargetRef
	}
	return ""
}

// profile reads spec.profile.<key> of a User or Group.
func profile(e *catalog.Entity, key string) string {
	p, _ := e.Spec["profile"].(map[string]any)
	s, _ := p[key].(string)
	return s
}

// truncate shortens s to at most n runes, marking the cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return strings.TrimSpace(string(r[:n-1])) + "…"
}
