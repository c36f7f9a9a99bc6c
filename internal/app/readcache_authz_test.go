package app_test

import (
	"testing"
)

// TestCachedAnswersFollowTheCaller: the cached answers of a catalog page's
// requests (facets, totals, a projected first page) are served only to
// callers whose read conditions produced them: asked alternately by a
// caller who may read every component and one who may not read vault,
// each gets their own answer every time.
func TestCachedAnswersFollowTheCaller(t *testing.T) {
	s, jane, sam, _ := authzServer(t)
	type facets struct {
		Facets map[string][]struct {
			Value string `json:"value"`
			Count int    `json:"count"`
		} `json:"facets"`
	}
	type page struct {
		Items []struct {
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		} `json:"items"`
		TotalItems int `json:"totalItems"`
	}
	componentFacet := func(token string) int {
		var f facets
		if code := call(t, s, token, "GET", "/api/catalog/entity-facets?facet=kind&facet=metadata.name", "", &f); code != 200 {
			t.Fatalf("facets: got %d", code)
		}
		for _, v := range f.Facets["kind"] {
			if v.Value == "Component" {
				return v.Count
			}
		}
		return 0
	}
	count := func(token string) int {
		var p page
		if code := call(t, s, token, "GET", "/api/catalog/entities/by-query?limit=0&filter=kind=component", "", &p); code != 200 {
			t.Fatalf("count: got %d", code)
		}
		return p.TotalItems
	}
	names := func(token string) []string {
		var p page
		path := "/api/catalog/entities/by-query?limit=20&orderField=metadata.name,asc&fields=kind,metadata.name&filter=kind=component"
		if code := call(t, s, token, "GET", path, "", &p); code != 200 {
			t.Fatalf("page: got %d", code)
		}
		var out []string
		for _, it := range p.Items {
			out = append(out, it.Metadata.Name)
		}
		return out
	}
	for round := range 3 {
		for _, who := range []struct {
			name, token string
			want        int
		}{{"sam", sam, 4}, {"jane", jane, 3}} {
			if got := componentFacet(who.token); got != who.want {
				t.Errorf("round %d, %s: got %d components in the kind facet, want %d", round, who.name, got, who.want)
			}
			if got := count(who.token); got != who.want {
				t.Errorf("round %d, %s: got a total of %d components, want %d", round, who.name, got, who.want)
			}
			if got := names(who.token); len(got) != who.want {
				t.Errorf("round %d, %s: got page %v, want %d components", round, who.name, got, who.want)
			}
		}
	}
}
