package ui

import (
	"net/http"
	"strings"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/store"
)

// searchShown caps the results of the search page.
const searchShown = 50

type searchData struct {
	Q       string
	Kind    string
	Results []*catalog.Entity
	Kinds   []string
}

// search is full-text search over the catalog (FTS5 / tsvector), ranked.
func (u *UI) search(w http.ResponseWriter, r *http.Request) {
	d := searchData{Q: strings.TrimSpace(r.URL.Query().Get("q")), Kind: strings.ToLower(r.URL.Query().Get("kind")), Kinds: knownKinds}
	if d.Q != "" {
		var f *catalog.Filter
		if d.Kind != "" {
			f = catalog.In("kind", d.Kind)
		}
		res, err := u.p.Catalog.Search(r.Context(), store.EntitySearchParams{Query: d.Q, Filter: f, Limit: searchShown})
		if err != nil {
			u.fail(w, r, err)
			return
		}
		d.Results = res
	}
	title := "Search"
	if d.Q != "" {
		title = "Search: " + d.Q
	}
	u.page(w, r, "search", d, View{Title: title, Section: "catalog"})
}
