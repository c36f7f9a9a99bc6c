package main

import (
	"math/rand/v2"
	"net/url"
	"strings"

	"github.com/atrium-portal/atrium/bench/gen"
)

// pageEndpoints are the portal's HTML pages measured with -pages: the
// catalog list of components (first page, and filtered by a facet and a
// team), and the page of a random component with its relation graph.
func pageEndpoints(set *gen.Set) []endpoint {
	var comps []string
	for _, e := range set.Entities {
		if strings.EqualFold(e.Kind, "component") {
			comps = append(comps, e.Name)
		}
	}
	teams := set.Teams()
	return []endpoint{
		{Name: "page:catalog-list", Path: func(*rand.Rand) string {
			return "/catalog?kind=component"
		}},
		{Name: "page:catalog-filtered", Path: func(rng *rand.Rand) string {
			return "/catalog?kind=component&lifecycle=production&ownedby=" + url.QueryEscape(teams[rng.IntN(len(teams))])
		}},
		{Name: "page:entity", Path: func(rng *rand.Rand) string {
			return "/catalog/default/component/" + url.PathEscape(comps[rng.IntN(len(comps))])
		}},
	}
}
