package ui

import (
	"net/http"

	"github.com/atrium-portal/atrium/internal/auth"
	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/engine"
)

// homeShown is how many entities each list of the home page shows.
const homeShown = 8

type homeData struct {
	Chart     barChart
	Recent    []*catalog.Entity
	Owned     []*catalog.Entity
	OwnedMore bool
	SignedIn  bool
	OwnedHref string
}

// home is the landing page: search, counts by kind, what the caller owns
// and what changed recently.
func (u *UI) home(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var d homeData
	facets, err := u.facetCounts(ctx, []string{"kind"}, nil)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d.Chart = kindChart(facets["kind"])

	if p := auth.PrincipalFrom(ctx); p != nil && len(p.OwnershipRefs) > 0 {
		d.SignedIn = true
		page, err := u.p.Catalog.Entities(ctx, engine.Query{
			Filter: catalog.In("relations.ownedby", lowerAll(p.OwnershipRefs)...),
			Order:  nameOrder(),
			Limit:  homeShown,
		})
		if err != nil {
			u.fail(w, r, err)
			return
		}
		d.Owned, d.OwnedMore = page.Items, page.HasMore
		d.OwnedHref = ownedHref(p.OwnershipRefs)
	}

	if u.recent != nil {
		refs := u.recent.list()
		if len(refs) > homeShown {
			refs = refs[:homeShown]
		}
		if len(refs) > 0 {
			ents, err := u.p.Catalog.EntitiesByRefs(ctx, refs, nil)
			if err != nil {
				u.fail(w, r, err)
				return
			}
			for _, e := range ents {
				if e != nil {
					d.Recent = append(d.Recent, e)
				}
			}
		}
	}
	u.page(w, r, "home", d, View{Title: "", Section: "home"})
}
