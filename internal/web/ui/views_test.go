package ui_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/atrium-portal/atrium/internal/app/apptest"
)

// startDemo runs Atrium with the demo catalog, whose tracking service has
// TechDocs and whose APIs have definitions of every type.
func startDemo(t testing.TB) string {
	t.Helper()
	return apptest.StartServer(t, `catalog:
  rules:
    - allow: [Component, API, Resource, System, Domain, Group, User, Location]
atrium:
  demo: true
`).BaseURL
}

func fetch(t testing.TB, url string) (*http.Response, *goquery.Document, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Accept", "text/html")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return res, doc, string(b)
}

func TestDocsPages(t *testing.T) {
	base := startDemo(t)
	site := "/docs/default/component/tracking-service/"
	tests := []struct {
		name, path string
		status     int
		sel        string // must match
		text       string // in the matched element's text
	}{
		{"list", "/docs", 200, `.docs-entities a[href="` + site + `"]`, "Tracking service"},
		{"no slash", strings.TrimSuffix(site, "/"), 301, "", ""},
		{"index", site, 200, ".markdown h1#tracking-service", "Tracking service"},
		{"relative link rewritten", site, 200, `.markdown a[href="` + site + `runbook/#the-public-tracking-page-shows-stale-statuses"]`, "runbook"},
		{"sidebar", site + "runbook/", 200, `.docs-nav a[aria-current="page"]`, "Runbook"},
		{"table of contents", site + "runbook/", 200, `.docs-toc a[href="#the-database-is-at-high-cpu"]`, "The database is at high CPU"},
		{"page without slash", site + "runbook", 301, "", ""},
		{"site search", site + "_search?q=consumer+lag", 200, `.docs-hits a[href="` + site + `runbook/"]`, "Runbook"},
		{"global search", "/docs?q=partition", 200, `.docs-hits a[href="` + site + `runbook/"]`, "Runbook"},
		{"traversal", site + "..%2fcatalog-info.yaml", 404, "", ""},
		{"not a file", site + "mkdocs.yml", 404, "", ""},
		{"no docs", "/docs/default/component/billing-service/", 404, "", ""},
		{"no entity", "/docs/default/component/nope/", 404, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, doc, _ := fetch(t, base+tt.path)
			if res.StatusCode != tt.status {
				t.Fatalf("GET %s: got status %d, want %d", tt.path, res.StatusCode, tt.status)
			}
			if tt.sel == "" {
				return
			}
			m := doc.Find(tt.sel)
			if m.Length() == 0 {
				t.Fatalf("GET %s: got no %s", tt.path, tt.sel)
			}
			if !strings.Contains(m.First().Text(), tt.text) {
				t.Errorf("GET %s: got %q in %s, want %q", tt.path, m.First().Text(), tt.sel, tt.text)
			}
		})
	}
}

func TestGraphPage(t *testing.T) {
	base := startDemo(t)
	page := "/catalog/default/component/tracking-service/graph"
	_, one, _ := fetch(t, base+page+"?depth=1")
	_, two, _ := fetch(t, base+page+"?depth=2")
	n1, n2 := one.Find("svg.relgraph .relgraph-node").Length(), two.Find("svg.relgraph .relgraph-node").Length()
	if n1 < 5 || n2 <= n1 {
		t.Errorf("got %d nodes at depth 1 and %d at depth 2, want more at depth 2", n1, n2)
	}
	if one.Find(`svg.relgraph a[href="/catalog/default/group/tracking-team"]`).Length() != 1 {
		t.Errorf("got no link to the owner in the graph")
	}
	_, owned, _ := fetch(t, base+page+"?depth=1&rel=ownedBy")
	if got := owned.Find("svg.relgraph .relgraph-node").Length(); got != 2 {
		t.Errorf("got %d nodes following ownedBy only, want 2", got)
	}
	if owned.Find(`input[name=rel][value=ownedBy][checked]`).Length() != 1 {
		t.Errorf("got the ownedBy box unchecked after choosing it")
	}
	if res, _, _ := fetch(t, base+"/catalog/default/component/nope/graph"); res.StatusCode != 404 {
		t.Errorf("got status %d for a missing entity, want 404", res.StatusCode)
	}
}
