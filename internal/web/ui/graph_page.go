package ui

import (
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/atrium-portal/atrium/internal/graph"
	"github.com/atrium-portal/atrium/internal/web"
)

// GraphRoutes registers the full-page relation graph of an entity.
func (u *UI) GraphRoutes(mux web.Mux) {
	mux.HandleFunc("GET /catalog/{namespace}/{kind}/{name}/graph", u.graphPage)
}

// graphPageData is what the graph-page template shows.
type graphPageData struct {
	Ref      string
	Title    string
	Href     string
	Action   string
	Depth    int
	Depths   []int
	Types    []graphType
	Graph    template.HTML
	AnyTypes bool
}

// graphPage draws an entity's relation graph across the page, with the
// depth and relation-type controls as a plain GET form (the URL holds the
// state; no script is needed) and pan and zoom from graph.js.
func (u *UI) graphPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ref := entityRef(r)
	e, err := u.p.Catalog.EntityByRef(ctx, ref)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	if e == nil {
		u.notFound(w, r, "There is no entity "+ref+".")
		return
	}
	q := r.URL.Query()
	d := graphPageData{Ref: e.Ref().String(), Title: entityTitle(e), Href: entityHref(e), Depth: 2, Depths: []int{1, 2, 3}}
	d.Action = d.Href + "/graph"
	if v, err := strconv.Atoi(q.Get("depth")); err == nil && v >= 1 && v <= 3 {
		d.Depth = v
	}
	sel := map[string]bool{}
	for _, t := range q["rel"] {
		sel[strings.ToLower(t)] = true
	}
	var types []string
	for _, t := range graph.RelationTypes() {
		on := sel[strings.ToLower(t)]
		d.Types = append(d.Types, graphType{Type: t, Checked: on})
		if on {
			types = append(types, t)
		}
	}
	d.AnyTypes = len(types) > 0
	if k := strings.ToLower(e.Kind); (k == "group" || k == "user") && d.AnyTypes {
		// As on the entity page, a membership graph follows both directions.
		types = expandPairs(types)
	}
	svg, err := graph.Render(ctx, u.p.Catalog, d.Ref, graph.Options{Depth: d.Depth, Types: types})
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d.Graph = svg
	u.page(w, r, "graph-page", d, View{
		Title:   "Relations of " + d.Title,
		Section: "catalog",
		Breadcrumbs: []Crumb{
			{Label: "Catalog", Href: "/catalog"},
			{Label: kindLabel(e.Kind), Href: "/catalog?kind=" + strings.ToLower(e.Kind)},
			{Label: d.Title, Href: d.Href},
		},
	})
}
