package ui

import (
	"fmt"
	"testing"

	"github.com/atrium-portal/atrium/internal/store"
)

func TestFacetViewsLargeFacets(t *testing.T) {
	// 5000 owners, sorted as the store sorts them, plus a duplicate in
	// another case that must not show twice.
	var owners []store.FacetCount
	for i := range 5000 {
		owners = append(owners, store.FacetCount{Value: fmt.Sprintf("team-%04d", i), Count: 10000 - i})
	}
	owners = append(owners, store.FacetCount{Value: "TEAM-0000", Count: 1})
	unsorted := []store.FacetCount{{Value: "b", Count: 1}, {Value: "a", Count: 1}, {Value: "c", Count: 5}}
	counts := map[string][]store.FacetCount{"spec.owner": owners, "spec.type": unsorted}
	tests := []struct {
		name       string
		selected   map[string][]string
		wantValues []string // of the owner facet, in order
		wantMore   int
	}{
		{"nothing selected", nil, nil, 100},
		{"a value deep in the list", map[string][]string{"owner": {"Team-4321"}}, []string{"team-4321"}, 100},
		{"a value that matches nothing", map[string][]string{"owner": {"nobody"}}, []string{"nobody"}, 100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			views := facetViews(listState{Selected: tc.selected}, counts)
			var owner, typ *facetView
			for i := range views {
				switch views[i].Param {
				case "owner":
					owner = &views[i]
				case "type":
					typ = &views[i]
				}
			}
			if owner == nil || typ == nil {
				t.Fatalf("got %d facets, want owner and type", len(views))
			}
			want := 12 + len(tc.wantValues)
			if len(owner.Values) != want || len(owner.More) != tc.wantMore {
				t.Fatalf("owner: %d values and %d more, want %d and %d", len(owner.Values), len(owner.More), want, tc.wantMore)
			}
			if owner.Values[0].Value != "team-0000" || owner.Values[11].Value != "team-0011" {
				t.Errorf("owner: shown %s … %s, want the most frequent first", owner.Values[0].Value, owner.Values[11].Value)
			}
			for i, v := range tc.wantValues {
				got := owner.Values[12+i]
				if !got.Selected || got.Value != v && got.Value != tc.selected["owner"][i] {
					t.Errorf("owner: selected value %+v, want %s selected", got, v)
				}
			}
			if got := []string{typ.Values[0].Value, typ.Values[1].Value, typ.Values[2].Value}; got[0] != "c" || got[1] != "a" || got[2] != "b" {
				t.Errorf("type: got %v, want [c a b]", got)
			}
		})
	}
}
