package app_test

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/internal/app/apptest"
)

// manyComponents writes n components, spread over two owners and three
// types, into one descriptor file and returns its path.
func manyComponents(t testing.TB, n int) string {
	t.Helper()
	var b strings.Builder
	types := []string{"service", "website", "library"}
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: { name: c%05d }\nspec: { type: %s, lifecycle: production, owner: team-%d }\n",
			i, types[i%3], i%2)
	}
	p := filepath.Join(t.TempDir(), "many.yaml")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPagingAcrossPages checks, on every database, that streaming and both
// paging styles meet every entity exactly once across many page boundaries.
func TestPagingAcrossPages(t *testing.T) {
	const n = 1234
	file := manyComponents(t, n)
	for _, db := range apptest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			yaml := fmt.Sprintf("catalog:\n  locations:\n    - { type: file, target: %q }\natrium:\n  limits:\n    streamPageSize: 100\n%s", file, db.YAML)
			c := client{t: t, base: apptest.Start(t, yaml)}

			var all []*entity
			c.json("GET", "/api/catalog/entities", "", 200, &all)
			// Every component, plus the Location entity generated for the static location.
			checkOnce(t, "stream", all, n+1)

			var services []*entity
			c.json("GET", "/api/catalog/entities?filter=spec.type=service&fields=kind,metadata.name,metadata.namespace", "", 200, &services)
			checkOnce(t, "stream filtered", services, (n+2)/3)

			for _, order := range []string{"metadata.name,asc", "metadata.name,desc", ""} {
				var seen []*entity
				q := "/api/catalog/entities/by-query?limit=97&filter=spec.owner=team-1"
				if order != "" {
					q += "&orderField=" + order
				}
				var page queryPage
				c.json("GET", q, "", 200, &page)
				total := *page.TotalItems
				seen = append(seen, page.Items...)
				var pages []queryPage
				for page.PageInfo.NextCursor != "" {
					pages = append(pages, page)
					next := page.PageInfo.NextCursor
					page = queryPage{}
					c.json("GET", "/api/catalog/entities/by-query?limit=97&cursor="+url.QueryEscape(next), "", 200, &page)
					seen = append(seen, page.Items...)
				}
				checkOnce(t, "by-query "+order, seen, n/2)
				if total != n/2 {
					t.Errorf("by-query %s: totalItems got %d, want %d", order, total, n/2)
				}
				// Walk back to the start with prevCursor.
				for i := len(pages) - 1; i >= 0; i-- {
					prev := page.PageInfo.PrevCursor
					page = queryPage{}
					c.json("GET", "/api/catalog/entities/by-query?limit=97&cursor="+url.QueryEscape(prev), "", 200, &page)
					if got, want := refs(page.Items), refs(pages[i].Items); got != want {
						t.Fatalf("by-query %s back to page %d: got %v, want %v", order, i, got, want)
					}
				}
			}
		})
	}
}

func checkOnce(t testing.TB, what string, es []*entity, want int) {
	t.Helper()
	seen := map[string]bool{}
	for _, e := range es {
		if seen[e.ref()] {
			t.Errorf("%s: %s twice", what, e.ref())
		}
		seen[e.ref()] = true
	}
	if len(seen) != want {
		t.Errorf("%s: got %d distinct entities, want %d", what, len(seen), want)
	}
}
