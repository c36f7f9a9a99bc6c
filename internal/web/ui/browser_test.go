package ui_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/atrium-portal/atrium/internal/browsertest"
)

// TestBrowserJourney walks the portal as a person does: browse, filter by
// a facet, search, open an entity, follow the graph, read an API
// definition, find the docs, register a location with a dry run, and watch
// a page update itself when its descriptor changes.
func TestBrowserJourney(t *testing.T) {
	p := startPortal(t)
	ctx := browsertest.New(t, 1280, 900)
	base := p.BaseURL

	// Browse: the catalog by kind.
	browsertest.Do(t, ctx, "open the catalog", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("svg.bars")))
	browsertest.Shot(t, ctx, "home")
	browsertest.Do(t, ctx, "pick the Component bar", chromedp.Click(chromedp.CSS(`svg.bars a[href="/catalog?kind=component"]`)),
		chromedp.WaitVisible(chromedp.CSS("table.list")))

	// Filter by a facet: checking a box applies it at once.
	browsertest.Do(t, ctx, "filter by lifecycle", chromedp.Click(chromedp.CSS(`.facets input[name=lifecycle][value=production]`)),
		chromedp.WaitVisible(chromedp.CSS(`.facets input[name=lifecycle][value=production][checked]`)))
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	if !strings.Contains(loc, "lifecycle=production") {
		t.Errorf("after filtering: URL %q, want it to hold lifecycle=production", loc)
	}
	rows, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("table.list tbody tr").length`))
	if rows != 1 {
		t.Errorf("rows after filtering: got %v, want 1", rows)
	}
	browsertest.Shot(t, ctx, "catalog")

	// Full-text search from the header.
	browsertest.Do(t, ctx, "search", chromedp.SendKeys(chromedp.ID("nav-q"), "double-entry\n"),
		chromedp.WaitVisible(chromedp.CSS("#search-results")))
	browsertest.Do(t, ctx, "open the result", chromedp.Click(chromedp.CSS(`#search-results a[href="/catalog/default/component/ledger-service"]`)),
		chromedp.WaitVisible(chromedp.CSS(".graph-wrap svg")))
	title, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
	if title != "Ledger service" {
		t.Errorf("entity title: got %q, want Ledger service", title)
	}
	browsertest.Shot(t, ctx, "entity")

	// Navigate via the graph: the owner's node.
	browsertest.Do(t, ctx, "click the owner in the graph", chromedp.Click(chromedp.CSS(`.graph-wrap svg a[href="/catalog/default/group/payments"]`)),
		chromedp.WaitVisible(chromedp.CSS("#org-h")))
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasSuffix(loc, "/catalog/default/group/payments") {
		t.Errorf("after clicking the graph: at %q, want the payments group", loc)
	}
	browsertest.Shot(t, ctx, "group")

	// The API definition.
	browsertest.Do(t, ctx, "open the API definition", chromedp.Navigate(base+"/catalog/default/api/ledger-api?tab=api"),
		chromedp.WaitVisible(chromedp.CSS("#def-h")))
	def, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#def-h + *")))
	if !strings.Contains(def+browsertest.Text(t, ctx, "main"), "List ledger entries") {
		t.Errorf("definition: want the listEntries operation")
	}
	browsertest.Shot(t, ctx, "api")

	// Docs: the entity's Docs tab opens its TechDocs.
	browsertest.Do(t, ctx, "back to the entity", chromedp.Navigate(base+"/catalog/default/component/ledger-service"),
		chromedp.WaitVisible(chromedp.CSS(`.tabs a[href="/docs/default/component/ledger-service/"]`)))
	browsertest.Do(t, ctx, "open the docs", chromedp.Click(chromedp.CSS(`.tabs a[href="/docs/default/component/ledger-service/"]`)),
		chromedp.WaitVisible(chromedp.CSS(".markdown h1")))
	if got := browsertest.Text(t, ctx, ".markdown h1"); got != "Ledger service handbook" {
		t.Errorf("docs heading: got %q, want Ledger service handbook", got)
	}
	if got := browsertest.Text(t, ctx, ".markdown"); !strings.Contains(got, "two balanced entries") {
		t.Errorf("docs body: got %q, want the handbook's text", got)
	}
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasSuffix(loc, "/docs/default/component/ledger-service/") {
		t.Errorf("after opening the docs: at %q, want the ledger service's docs", loc)
	}
	browsertest.Shot(t, ctx, "docs")

	// Hostile content stays inert in a real browser.
	browsertest.Do(t, ctx, "open the hostile entity", chromedp.Navigate(base+"/catalog/default/component/checkout-web"),
		chromedp.WaitVisible(chromedp.CSS("h1")))
	if browsertest.Eval[bool](t, ctx, `window.__pwned !== undefined`) {
		t.Errorf("a script in a description ran")
	}

	// Register a location with a dry run first.
	target := filepath.Join(p.CatalogDir, "extra.yaml")
	browsertest.Do(t, ctx, "preview a location", chromedp.Navigate(base+"/catalog-import"),
		chromedp.SetValue(chromedp.ID("loc-type"), "file"),
		chromedp.SendKeys(chromedp.ID("loc-target"), target),
		chromedp.Click(chromedp.CSS(`button[value=preview]`)),
		chromedp.WaitVisible(chromedp.ID("preview")))
	prev := browsertest.Text(t, ctx, "#preview")
	if !strings.Contains(prev, "extra-tool") {
		t.Errorf("preview: got %q, want extra-tool", prev)
	}
	browsertest.Shot(t, ctx, "locations-preview")
	browsertest.Do(t, ctx, "register it", chromedp.Click(chromedp.CSS(`#preview button[value=register]`)),
		chromedp.WaitVisible(chromedp.CSS(".alert.info")))
	if got := browsertest.Text(t, ctx, "#locs-h + .table-wrap"); !strings.Contains(got, target) {
		t.Errorf("registered locations: got %q, want %s", got, target)
	}
}

// TestBrowserLiveUpdate edits a descriptor on disk, refreshes it through
// the API, and expects the open entity page to show the change without a
// reload, and the catalog list to offer a refresh.
func TestBrowserLiveUpdate(t *testing.T) {
	p := startPortal(t)
	ctx := browsertest.New(t, 1280, 900)
	browsertest.Do(t, ctx, "open the entity", chromedp.Navigate(p.BaseURL+"/catalog/default/component/live-widget"),
		chromedp.WaitVisible(chromedp.CSS(".entity-desc")))
	// A marker that a reload would wipe.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.__marker = 42`)); err != nil {
		t.Fatal(err)
	}
	// Wait for the live stream to be connected before changing anything.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.documentElement.dataset.live === "on"`)); err != nil {
		t.Fatalf("the live stream did not connect: %v", err)
	}
	file := filepath.Join(p.CatalogDir, "live.yaml")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(strings.Replace(string(b), "Version one", "Version two", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	refresh(t, p, "component:default/live-widget")
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector(".entity-desc").textContent.includes("Version two")`)); err != nil {
		t.Fatalf("the page did not show the change: %v", err)
	}
	if !browsertest.Eval[bool](t, ctx, `window.__marker === 42`) {
		t.Errorf("the page reloaded; it should update in place")
	}
	browsertest.Shot(t, ctx, "updated")
}

// refresh asks the catalog to re-read an entity's location.
func refresh(t *testing.T, p *portal, ref string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"entityRef": ref})
	res, err := http.Post(p.BaseURL+"/api/catalog/refresh", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode >= 300 {
		t.Fatalf("refresh %s: status %v", ref, res.StatusCode)
	}
}

// TestBrowserPhone checks the portal at 390 px: the navigation collapses
// behind a menu button and tables turn into cards.
func TestBrowserPhone(t *testing.T) {
	p := startPortal(t)
	ctx := browsertest.New(t, 390, 844)
	browsertest.Do(t, ctx, "open the catalog", chromedp.Navigate(p.BaseURL+"/catalog?kind=component"), chromedp.WaitVisible(chromedp.CSS("table.list")))
	if browsertest.Eval[bool](t, ctx, `getComputedStyle(document.getElementById("site-nav")).display !== "none"`) {
		t.Errorf("at 390 px the navigation should start collapsed")
	}
	if !browsertest.Eval[bool](t, ctx, `getComputedStyle(document.querySelector("table.list tbody tr")).display === "block"`) {
		t.Errorf("at 390 px table rows should be cards")
	}
	if browsertest.Eval[bool](t, ctx, `document.documentElement.scrollWidth > 390`) {
		t.Errorf("the page scrolls sideways at 390 px")
	}
	browsertest.Shot(t, ctx, "catalog")
	browsertest.Do(t, ctx, "open the menu", chromedp.Click(chromedp.CSS(".nav-toggle")), chromedp.WaitVisible(chromedp.CSS("#site-nav a[href='/catalog-import']")))
	if !browsertest.Eval[bool](t, ctx, `document.querySelector(".nav-toggle").getAttribute("aria-expanded") === "true"`) {
		t.Errorf("the menu button should say it is expanded")
	}
	browsertest.Shot(t, ctx, "menu")
	browsertest.Do(t, ctx, "open an entity", chromedp.Navigate(p.BaseURL+"/catalog/default/component/ledger-service"), chromedp.WaitVisible(chromedp.CSS("h1")))
	if browsertest.Eval[bool](t, ctx, `document.documentElement.scrollWidth > 390`) {
		t.Errorf("the entity page scrolls sideways at 390 px")
	}
	if !browsertest.Eval[bool](t, ctx, `(el => el.scrollHeight <= el.clientHeight)(document.querySelector(".tabs"))`) {
		t.Errorf("the tab row overflows vertically (a stray scroll bar)")
	}
	// The test portal has no sign-in: the development banner spans the page
	// and has the notice colours.
	if !browsertest.Eval[bool](t, ctx, `(el => el.getBoundingClientRect().width >= document.documentElement.clientWidth &&
		getComputedStyle(el).backgroundColor !== "rgba(0, 0, 0, 0)")(document.getElementById("dev-banner"))`) {
		t.Errorf("the development banner should be a full-width coloured notice")
	}
	browsertest.Shot(t, ctx, "entity")
}
