package ui_test

import (
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

func TestHomePage(t *testing.T) {
	p := startPortal(t)
	res, doc := p.get(t, "/")
	if res.StatusCode != 200 {
		t.Fatalf("status: got %v, want 200", res.StatusCode)
	}
	if got := doc.Find("form[role=search] input[name=q]").Length(); got < 2 {
		t.Errorf("search boxes: got %v, want the header's and the page's", got)
	}
	bars := texts(doc, "svg.bars a title")
	if !slices.Contains(bars, "Component: 4") || !slices.Contains(bars, "API: 1") {
		t.Errorf("kind chart: got %v, want Component: 4 and API: 1", bars)
	}
	if href, _ := doc.Find(`svg.bars a`).First().Attr("href"); !strings.HasPrefix(href, "/catalog?kind=") {
		t.Errorf("chart link: got %q, want a catalog list by kind", href)
	}
	if got := doc.Find("script:not([src])").Length(); got != 0 {
		t.Errorf("inline scripts: got %v, want 0 (CSP)", got)
	}
	if got := doc.Find("[style]").Length(); got != 0 {
		t.Errorf("style attributes: got %v, want 0 (CSP)", got)
	}
}

func TestCatalogList(t *testing.T) {
	p := startPortal(t)
	tests := []struct {
		name string
		path string
		want []string // entity titles, in order
	}{
		{"kind", "/catalog?kind=component", []string{"checkout-web", "fraud-scorer", "Ledger service", "live-widget"}},
		{"facet", "/catalog?kind=component&lifecycle=production", []string{"Ledger service"}},
		{"two facet values", "/catalog?kind=component&lifecycle=production&lifecycle=deprecated", []string{"fraud-scorer", "Ledger service"}},
		{"text", "/catalog?kind=component&q=ledger", []string{"Ledger service"}},
		{"sorted desc", "/catalog?kind=component&dir=desc", []string{"live-widget", "Ledger service", "fraud-scorer", "checkout-web"}},
		{"owned by", "/catalog?ownedby=group:default/platform", []string{"fraud-scorer", "live-widget"}},
		{"tag", "/catalog?tag=go", []string{"Ledger service"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, doc := p.get(t, tt.path)
			if res.StatusCode != 200 {
				t.Fatalf("status: got %v, want 200", res.StatusCode)
			}
			if got := texts(doc, "table.list tbody td.primary a"); !slices.Equal(got, tt.want) {
				t.Errorf("rows: got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCatalogFacetsAndTabs(t *testing.T) {
	p := startPortal(t)
	_, doc := p.get(t, "/catalog?kind=component&lifecycle=production")
	if got := texts(doc, `.kind-tabs a[aria-current="page"]`); len(got) != 1 || !strings.HasPrefix(got[0], "Component") {
		t.Errorf("current tab: got %v, want Component", got)
	}
	checked := doc.Find(`.facets input[name=lifecycle][checked]`)
	if v, _ := checked.Attr("value"); checked.Length() != 1 || v != "production" {
		t.Errorf("checked lifecycle: got %d %q, want production", checked.Length(), v)
	}
	var counts []string
	doc.Find(`.facets input[name=lifecycle]`).Each(func(_ int, s *goquery.Selection) {
		v, _ := s.Attr("value")
		counts = append(counts, v+"="+strings.TrimSpace(s.Parent().Find(".count").Text()))
	})
	slices.Sort(counts)
	want := []string{"deprecated=1", "experimental=2", "production=1"}
	if !slices.Equal(counts, want) {
		t.Errorf("lifecycle counts: got %v, want %v", counts, want)
	}
	// Sorting links keep the filters and drop the cursor.
	href, _ := doc.Find(`th a`).First().Attr("href")
	u, _ := url.Parse(href)
	if u.Query().Get("lifecycle") != "production" || u.Query().Get("after") != "" {
		t.Errorf("sort link: got %q, want it to keep lifecycle and have no cursor", href)
	}
}

func TestCatalogPaging(t *testing.T) {
	p := startPortal(t)
	var seen []string
	path := "/catalog?limit=3"
	for range 10 {
		_, doc := p.get(t, path)
		seen = append(seen, texts(doc, "table.list tbody td.primary a")...)
		next, ok := doc.Find(`a[rel=next]`).Attr("href")
		if !ok {
			break
		}
		path = next
	}
	if len(seen) != 12 {
		t.Errorf("entities over all pages: got %d %v, want 12 (10 descriptors and 2 Location entities)", len(seen), seen)
	}
	// The last page links back.
	_, doc := p.get(t, path)
	prev, ok := doc.Find(`a[rel=prev]`).Attr("href")
	if !ok {
		t.Fatalf("last page has no previous link")
	}
	_, doc = p.get(t, prev)
	if got := texts(doc, "table.list tbody td.primary a"); len(got) != 3 {
		t.Errorf("previous page: got %v, want 3 rows", got)
	}
}

// TestCatalogTotals checks the "N entities" line against the rows of every
// page, whichever way the total is found: from the facet counts, counted
// on the first page, or carried by the page cursor.
func TestCatalogTotals(t *testing.T) {
	p := startPortal(t)
	tests := []struct {
		name string
		path string
	}{
		{"everything", "/catalog?limit=2"},
		{"kind", "/catalog?kind=component&limit=2"},
		{"one facet value", "/catalog?kind=component&lifecycle=production&limit=2"},
		{"two values of a facet", "/catalog?kind=component&lifecycle=production&lifecycle=deprecated&limit=2"},
		{"two tags", "/catalog?tag=go&tag=critical&limit=2"},
		{"owned by", "/catalog?ownedby=group:default/platform&limit=1"},
		{"owned by and a facet", "/catalog?ownedby=group:default/payments&type=service&limit=1"},
		{"two facets", "/catalog?kind=component&type=service&lifecycle=production&limit=1"},
		{"text", "/catalog?q=ledger&limit=1"},
		{"nothing matches", "/catalog?kind=component&lifecycle=retired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rows int
			var totals []string
			path := tt.path
			for range 20 {
				_, doc := p.get(t, path)
				rows += doc.Find("table.list tbody tr").Length()
				totals = append(totals, strings.Fields(doc.Find(`p[aria-live=polite]`).Text() + " ?")[0])
				next, ok := doc.Find(`a[rel=next]`).Attr("href")
				if !ok {
					break
				}
				path = next
			}
			for i, got := range totals {
				if got != strconv.Itoa(rows) {
					t.Errorf("page %d: got total %s, want %d (the rows of all pages)", i+1, got, rows)
				}
			}
		})
	}
}

func TestCatalogBadInput(t *testing.T) {
	p := startPortal(t)
	tests := []struct {
		path string
		want string
	}{
		{"/catalog?sort=password", "sort must be one of"},
		{"/catalog?after=%21%21", "page cursor"},
		{"/catalog?limit=-3", "limit must be a positive number"},
		{"/catalog/default/component/ledger-service?tab=nope", "there is no \"nope\" tab"},
	}
	for _, tt := range tests {
		res, doc := p.get(t, tt.path)
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status got %v, want 400", tt.path, res.StatusCode)
		}
		if got := doc.Find(".error-page").Text(); !strings.Contains(got, tt.want) {
			t.Errorf("%s: error page got %q, want it to say %q", tt.path, got, tt.want)
		}
	}
}

func TestEntityPage(t *testing.T) {
	p := startPortal(t)
	res, doc := p.get(t, "/catalog/default/component/ledger-service")
	if res.StatusCode != 200 {
		t.Fatalf("status: got %v, want 200", res.StatusCode)
	}
	if got := doc.Find("h1").Text(); got != "Ledger service" {
		t.Errorf("title: got %q, want Ledger service", got)
	}
	head := strings.Join(strings.Fields(doc.Find(".entity-head").Text()), " ")
	for _, want := range []string{"Component", "service", "production", "owned by payments", "system checkout", "go", "critical"} {
		if !strings.Contains(head, want) {
			t.Errorf("header %q: want it to contain %q", head, want)
		}
	}
	if got, _ := doc.Find(".entity-head .badge.ok").Attr("class"); got == "" {
		t.Errorf("production lifecycle badge: missing the ok colour")
	}
	if got := texts(doc, "#deps-h ~ ul.rel-list a"); !slices.Contains(got, "ledger-api") || !slices.Contains(got, "ledger-db") {
		t.Errorf("dependencies: got %v, want ledger-api and ledger-db", got)
	}
	if href, _ := doc.Find(`.tabs a[href^="/docs/"]`).Attr("href"); href != "/docs/default/component/ledger-service/" {
		t.Errorf("docs link: got %q, want /docs/default/component/ledger-service/", href)
	}
	if got := doc.Find(".graph-wrap svg a").Length(); got == 0 {
		t.Errorf("relation graph: no clickable nodes")
	}
	if got := texts(doc, "#ann-h ~ table td"); !slices.Contains(got, "backstage.io/techdocs-ref") {
		t.Errorf("annotations: got %v, want the techdocs ref", got)
	}
	if got := doc.Find("[data-live-refs]").AttrOr("data-live-refs", ""); got != "component:default/ledger-service" {
		t.Errorf("live refs: got %q, want the entity's ref", got)
	}
}

func TestEntityPageLinksToFullGraph(t *testing.T) {
	p := startPortal(t)
	tests := []struct {
		name     string
		path     string
		want     string
		wantNode string // an entity the full graph links to
	}{
		{"default", "/catalog/default/component/ledger-service", "/catalog/default/component/ledger-service/graph?depth=1", "/catalog/default/group/payments"},
		{"keeps depth and types", "/catalog/default/component/ledger-service?depth=3&rel=dependsOn", "/catalog/default/component/ledger-service/graph?depth=3&rel=dependsOn", "/catalog/default/resource/ledger-db"},
		{"group membership", "/catalog/default/group/payments", "/catalog/default/group/payments/graph?depth=1&rel=memberOf&rel=childOf", "/catalog/default/user/ada"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, doc := p.get(t, tt.path)
			link := doc.Find("#graph-h a#graph-full")
			if got := link.AttrOr("href", ""); got != tt.want {
				t.Fatalf("full graph link: got %q, want %q", got, tt.want)
			}
			res, page := p.get(t, link.AttrOr("href", ""))
			if res.StatusCode != 200 || page.Find(".graph-canvas svg.relgraph").Length() != 1 {
				t.Errorf("full graph page: got status %v and %d graphs, want 200 and 1", res.StatusCode, page.Find(".graph-canvas svg.relgraph").Length())
			}
			if page.Find(`svg.relgraph a[href="`+tt.wantNode+`"]`).Length() != 1 {
				t.Errorf("full graph page: got no node linking to %s", tt.wantNode)
			}
		})
	}
}

func TestHostileContentIsInert(t *testing.T) {
	p := startPortal(t)
	_, doc := p.get(t, "/catalog/default/component/ledger-service")
	doc.Find("a[href]").Each(func(_ int, s *goquery.Selection) {
		href, _ := s.Attr("href")
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(href)), "javascript:") {
			t.Errorf("link %q: javascript: URLs must not be clickable", href)
		}
	})
	if got := doc.Find(".linklist").Text(); !strings.Contains(got, "Totally safe link") {
		t.Errorf("the unsafe link should still be listed as text, got %q", got)
	}
	for _, path := range []string{"/catalog/default/component/checkout-web", "/catalog?kind=component", "/search?q=storefront"} {
		_, doc := p.get(t, path)
		if n := doc.Find("script:not([src]), img[onerror], [onerror]").Length(); n != 0 {
			t.Errorf("%s: %d injected elements, want 0", path, n)
		}
	}
}

func TestGroupAndUserPages(t *testing.T) {
	p := startPortal(t)
	_, doc := p.get(t, "/catalog/default/group/payments")
	org := texts(doc, "#org-h ~ ul.rel-list a")
	if !slices.Contains(org, "Ada Lovelace") && !slices.Contains(org, "ada") {
		t.Errorf("members: got %v, want ada", org)
	}
	if !slices.Contains(org, "platform") {
		t.Errorf("parent: got %v, want platform", org)
	}
	owned := strings.Join(texts(doc, "#owned-h ~ h3"), "|")
	for _, want := range []string{"Components", "APIs", "Systems", "Resources"} {
		if !strings.Contains(owned, want) {
			t.Errorf("owned kinds %q: want %s", owned, want)
		}
	}
	if got := doc.Find(`input[name=rel][value=memberOf][checked]`).Length(); got != 1 {
		t.Errorf("group graph: want memberOf selected by default")
	}
	_, doc = p.get(t, "/catalog/default/user/ada")
	if got := texts(doc, "#org-h ~ ul.rel-list a"); !slices.Contains(got, "Payments team") {
		t.Errorf("user teams: got %v, want Payments team", got)
	}
}

func TestAPIDefinitionAndYAML(t *testing.T) {
	p := startPortal(t)
	_, doc := p.get(t, "/catalog/default/api/ledger-api?tab=api")
	body := doc.Find("#def-h").Parent().Text()
	for _, want := range []string{"/entries", "List ledger entries", "Post a ledger entry"} {
		if !strings.Contains(body, want) {
			t.Errorf("definition: want %q in %q", want, body)
		}
	}
	_, doc = p.get(t, "/catalog/default/api/ledger-api/yaml")
	y := doc.Find("pre.yaml").Text()
	if !strings.HasPrefix(y, "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:") {
		t.Errorf("yaml: got %q, want block YAML in entity order", y[:min(len(y), 80)])
	}
}

func TestErrorPages(t *testing.T) {
	p := startPortal(t)
	res, doc := p.get(t, "/catalog/default/component/does-not-exist")
	if res.StatusCode != 404 {
		t.Errorf("status: got %v, want 404", res.StatusCode)
	}
	if got := doc.Find(".error-page").Text(); !strings.Contains(got, "no component named does-not-exist") || !strings.Contains(got, "Browse the catalog") {
		t.Errorf("404 page: got %q", got)
	}
	// API clients keep Backstage's JSON error.
	res2, err := http.Get(p.BaseURL + "/api/catalog/entities/by-name/component/default/nope")
	if err != nil {
		t.Fatal(err)
	}
	res2.Body.Close()
	if ct := res2.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("API 404 content type: got %q, want JSON", ct)
	}
}

func TestLocationsDryRunRegisterUnregister(t *testing.T) {
	p := startPortal(t)
	target := p.CatalogDir + "/extra.yaml"
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(path string, form url.Values) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("POST", p.BaseURL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "text/html")
		req.Header.Set("Origin", p.BaseURL)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := post("/catalog-import", url.Values{"type": {"file"}, "target": {target}, "action": {"preview"}})
	doc, _ := goquery.NewDocumentFromReader(res.Body)
	res.Body.Close()
	if got := strings.Join(strings.Fields(doc.Find("#preview h3").Text()), " "); got != "Preview: 2 entities would be added" {
		t.Errorf("preview: got %q", got)
	}
	if _, doc := p.get(t, "/catalog/default/component/extra-tool"); doc.Find(".error-page").Length() == 0 {
		t.Errorf("a dry run must not store anything")
	}
	res = post("/catalog-import", url.Values{"type": {"file"}, "target": {target}, "action": {"register"}})
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("register: got %v, want 303", res.StatusCode)
	}
	_, doc = p.get(t, "/catalog-import")
	if got := texts(doc, "table.list td.primary"); !slices.Contains(got, target) {
		t.Fatalf("registered locations: got %v, want %s", got, target)
	}
	action, _ := doc.Find(`form[action$="/delete"]`).Attr("action")
	res = post(action, url.Values{})
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("unregister: got %v, want 303", res.StatusCode)
	}
	_, doc = p.get(t, "/catalog-import")
	if got := texts(doc, "table.list td.primary"); slices.Contains(got, target) {
		t.Errorf("after unregistering: got %v, want it gone", got)
	}
	res = post("/catalog-import", url.Values{"type": {"ftp"}, "target": {"ftp://x"}, "action": {"preview"}})
	doc, _ = goquery.NewDocumentFromReader(res.Body)
	res.Body.Close()
	if res.StatusCode != 400 || !strings.Contains(doc.Find(".alert.err").Text(), "allowed type") {
		t.Errorf("bad type: got %v %q, want 400 naming the allowed types", res.StatusCode, doc.Find(".alert.err").Text())
	}
}

func TestStaticAssets(t *testing.T) {
	p := startPortal(t)
	_, doc := p.get(t, "/")
	total := 0
	for _, sel := range []string{`link[rel=stylesheet]`, `script[src]`} {
		attr := "href"
		if strings.HasPrefix(sel, "script") {
			attr = "src"
		}
		href, _ := doc.Find(sel).Attr(attr)
		res, err := http.Get(p.BaseURL + href)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		total += len(b)
		if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
			t.Errorf("%s: Cache-Control %q, want immutable for versioned assets", href, cc)
		}
	}
	res, err := http.Get(p.BaseURL + "/manifest.webmanifest")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/manifest+json" {
		t.Errorf("manifest: got %v %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	_ = total
}
