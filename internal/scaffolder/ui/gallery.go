package ui

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/web"
	portal "github.com/atrium-portal/atrium/internal/web/ui"
)

// card is one template of the gallery.
type card struct {
	Title, Description, Type, Owner, Href, EntityHref string
	Tags                                              []string
}

// choice is one option of a gallery filter.
type choice struct {
	Value, Label string
	Count        int
	Selected     bool
}

type galleryData struct {
	Q, Tag, Owner, Type string
	Tags, Owners, Types []choice
	Cards               []card
	Total               int
	More                bool
	Filtered            bool
	Problem             string
	ClearHref           string
}

// gallery serves GET /create: the templates the caller may read, as
// cards, filtered by tag, owner and type and searched by text. The URL
// holds the whole state.
func (p *Pages) gallery(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := galleryData{Q: strings.TrimSpace(q.Get("q")), Tag: q.Get("tag"), Owner: q.Get("owner"), Type: q.Get("type"), ClearHref: "/create"}
	d.Filtered = d.Q != "" || d.Tag != "" || d.Owner != "" || d.Type != ""
	status := http.StatusOK
	if len(d.Q) > p.lim.QueryLength {
		d.Problem = fmt.Sprintf("The search text is %d characters long; the limit is %d.", len(d.Q), p.lim.QueryLength)
		status = http.StatusBadRequest
		p.render(w, r, "gallery", d, portal.View{Title: "Create", Status: status})
		return
	}
	base := catalog.In("kind", "template")
	leaves := []*catalog.Filter{base}
	for key, v := range map[string]string{"metadata.tags": d.Tag, "spec.owner": d.Owner, "spec.type": d.Type} {
		if v != "" {
			leaves = append(leaves, catalog.In(key, strings.ToLower(v)))
		}
	}
	query := engine.Query{Filter: catalog.All(leaves...), Limit: p.lim.Gallery, Order: &store.Order{Field: "metadata.name"}, CountTotal: true}
	if d.Q != "" {
		query.FullText = &store.FullText{Term: d.Q, Fields: []string{"metadata.name", "metadata.title", "metadata.description"}}
	}
	page, err := p.cat.Entities(r.Context(), query)
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	facets, err := p.cat.Facets(r.Context(), []string{"metadata.tags", "spec.owner", "spec.type"}, base)
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	d.Tags = choices(facets["metadata.tags"], d.Tag, func(s string) string { return s })
	d.Owners = choices(facets["spec.owner"], d.Owner, refLabel)
	d.Types = choices(facets["spec.type"], d.Type, func(s string) string { return s })
	d.Total, d.More = page.Total, page.HasMore
	for _, e := range page.Items {
		d.Cards = append(d.Cards, newCard(e))
	}
	p.render(w, r, "gallery", d, portal.View{Title: "Create", Status: status})
}

func newCard(e *catalog.Entity) card {
	ref := e.Ref()
	c := card{
		Title: e.Metadata.Title, Description: e.Metadata.Description, Tags: e.Metadata.Tags,
		Href:       "/create/templates/" + url.PathEscape(ref.Namespace) + "/" + url.PathEscape(ref.Name),
		EntityHref: refHref(ref.String()),
	}
	if c.Title == "" {
		c.Title = e.Metadata.Name
	}
	c.Type, _ = e.Spec["type"].(string)
	c.Owner, _ = e.Spec["owner"].(string)
	return c
}

func choices(counts []store.FacetCount, selected string, label func(string) string) []choice {
	out := make([]choice, 0, len(counts))
	found := selected == ""
	for _, c := range counts {
		sel := strings.EqualFold(c.Value, selected)
		found = found || sel
		out = append(out, choice{Value: c.Value, Label: label(c.Value), Count: c.Count, Selected: sel})
	}
	if !found {
		// Keep a selection that matches nothing visible, so it can be cleared.
		out = append(out, choice{Value: selected, Label: label(selected), Selected: true})
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Label) < strings.ToLower(out[j].Label) })
	return out
}

// refLabel is a ref as people read it: the name, with the namespace when
// it is not the default one.
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

// refHref is the portal page of the entity a ref names ("" for a ref
// without a kind).
func refHref(ref string) string {
	r, err := catalog.ParseRef(ref, catalog.RefDefaults{})
	if err != nil || r.Kind == "" {
		return ""
	}
	ns := r.Namespace
	if ns == "" {
		ns = catalog.DefaultNamespace
	}
	return "/catalog/" + url.PathEscape(strings.ToLower(ns)) + "/" + url.PathEscape(strings.ToLower(r.Kind)) + "/" + url.PathEscape(r.Name)
}

// errInvalid is a fault for bad input.
func errInvalid(format string, args ...any) error { return fault.New(fault.Invalid, format, args...) }
