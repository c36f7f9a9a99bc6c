package ui_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const chromiumPath = "/usr/bin/chromium"

// newBrowser starts headless Chromium for one test. Without chromium the
// test is skipped, except in CI (CI set), where it fails.
func newBrowser(t *testing.T, width, height int) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("browser tests need %s in CI: %v (.ci/run installs it)", chromiumPath, err)
		}
		t.Skipf("no %s; install chromium to run the browser tests", chromiumPath)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.DisableGPU,
		chromedp.WindowSize(width, height),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 120*time.Second)
	t.Cleanup(func() {
		if t.Failed() {
			shot(t, ctx, "failure")
		}
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(width), int64(height))); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// shot saves a full-page screenshot under the test's temp directory, and
// also under $ATRIUM_SHOTS when that is set (for looking at the design).
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	file := strings.ReplaceAll(t.Name(), "/", "_") + "-" + name + ".png"
	dirs := []string{t.TempDir()}
	if d := os.Getenv("ATRIUM_SHOTS"); d != "" {
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		p := filepath.Join(d, file)
		if err := os.WriteFile(p, png, 0o644); err == nil {
			t.Logf("screenshot: %s", p)
		}
	}
}

// do runs steps and fails the test with what was being done.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func evalBool(t *testing.T, ctx context.Context, expr string) bool {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// TestBrowserJourney walks the portal as a person does: browse, filter by
// a facet, search, open an entity, follow the graph, read an API
// definition, find the docs, register a location with a dry run, and watch
// a page update itself when its descriptor changes.
func TestBrowserJourney(t *testing.T) {
	p := startPortal(t)
	ctx := newBrowser(t, 1280, 900)
	base := p.BaseURL

	// Browse: the catalog by kind.
	do(t, ctx, "open the catalog", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("svg.bars")))
	shot(t, ctx, "home")
	do(t, ctx, "pick the Component bar", chromedp.Click(chromedp.CSS(`svg.bars a[href="/catalog?kind=component"]`)),
		chromedp.WaitVisible(chromedp.CSS("table.list")))

	// Filter by a facet: checking a box applies it at once.
	do(t, ctx, "filter by lifecycle", chromedp.Click(chromedp.CSS(`.facets input[name=lifecycle][value=production]`)),
		chromedp.WaitVisible(chromedp.CSS(`.facets input[name=lifecycle][value=production][checked]`)))
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	if !strings.Contains(loc, "lifecycle=production") {
		t.Errorf("after filtering: URL %q, want it to hold lifecycle=production", loc)
	}
	rows, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("table.list tbody tr").length`))
	if rows != 1 {
		t.Errorf("rows after filtering: got %v, want 1", rows)
	}
	shot(t, ctx, "catalog")

	// Full-text search from the header.
	do(t, ctx, "search", chromedp.SendKeys(chromedp.ID("nav-q"), "double-entry\n"),
		chromedp.WaitVisible(chromedp.CSS("#search-results")))
	do(t, ctx, "open the result", chromedp.Click(chromedp.CSS(`#search-results a[href="/catalog/default/component/ledger-service"]`)),
		chromedp.WaitVisible(chromedp.CSS(".graph-wrap svg")))
	title, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
	if title != "Ledger service" {
		t.Errorf("entity title: got %q, want Ledger service", title)
	}
	shot(t, ctx, "entity")

	// Navigate via the graph: the owner's node.
	do(t, ctx, "click the owner in the graph", chromedp.Click(chromedp.CSS(`.graph-wrap svg a[href="/catalog/default/group/payments"]`)),
		chromedp.WaitVisible(chromedp.CSS("#org-h")))
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasSuffix(loc, "/catalog/default/group/payments") {
		t.Errorf("after clicking the graph: at %q, want the payments group", loc)
	}
	shot(t, ctx, "group")

	// The API definition.
	do(t, ctx, "open the API definition", chromedp.Navigate(base+"/catalog/default/api/ledger-api?tab=api"),
		chromedp.WaitVisible(chromedp.CSS("#def-h")))
	def, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#def-h + *")))
	if !strings.Contains(def+mustText(t, ctx, "main"), "List ledger entries") {
		t.Errorf("definition: want the listEntries operation")
	}
	shot(t, ctx, "api")

	// Docs: the entity's Docs tab opens its TechDocs.
	do(t, ctx, "back to the entity", chromedp.Navigate(base+"/catalog/default/component/ledger-service"),
		chromedp.WaitVisible(chromedp.CSS(`.tabs a[href="/docs/default/component/ledger-service/"]`)))
	do(t, ctx, "open the docs", chromedp.Click(chromedp.CSS(`.tabs a[href="/docs/default/component/ledger-service/"]`)),
		chromedp.WaitVisible(chromedp.CSS(".markdown h1")))
	if got := mustText(t, ctx, ".markdown h1"); got != "Ledger service handbook" {
		t.Errorf("docs heading: got %q, want Ledger service handbook", got)
	}
	if got := mustText(t, ctx, ".markdown"); !strings.Contains(got, "two balanced entries") {
		t.Errorf("docs body: got %q, want the handbook's text", got)
	}
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasSuffix(loc, "/docs/default/component/ledger-service/") {
		t.Errorf("after opening the docs: at %q, want the ledger service's docs", loc)
	}
	shot(t, ctx, "docs")

	// Hostile content stays inert in a real browser.
	do(t, ctx, "open the hostile entity", chromedp.Navigate(base+"/catalog/default/component/checkout-web"),
		chromedp.WaitVisible(chromedp.CSS("h1")))
	if evalBool(t, ctx, `window.__pwned !== undefined`) {
		t.Errorf("a script in a description ran")
	}

	// Register a location with a dry run first.
	target := filepath.Join(p.CatalogDir, "extra.yaml")
	do(t, ctx, "preview a location", chromedp.Navigate(base+"/catalog-import"),
		chromedp.SetValue(chromedp.ID("loc-type"), "file"),
		chromedp.SendKeys(chromedp.ID("loc-target"), target),
		chromedp.Click(chromedp.CSS(`button[value=preview]`)),
		chromedp.WaitVisible(chromedp.ID("preview")))
	prev := mustText(t, ctx, "#preview")
	if !strings.Contains(prev, "extra-tool") {
		t.Errorf("preview: got %q, want extra-tool", prev)
	}
	shot(t, ctx, "locations-preview")
	do(t, ctx, "register it", chromedp.Click(chromedp.CSS(`#preview button[value=register]`)),
		chromedp.WaitVisible(chromedp.CSS(".alert.info")))
	if got := mustText(t, ctx, "#locs-h + .table-wrap"); !strings.Contains(got, target) {
		t.Errorf("registered locations: got %q, want %s", got, target)
	}
}

// TestBrowserLiveUpdate edits a descriptor on disk, refreshes it through
// the API, and expects the open entity page to show the change without a
// reload, and the catalog list to offer a refresh.
func TestBrowserLiveUpdate(t *testing.T) {
	p := startPortal(t)
	ctx := newBrowser(t, 1280, 900)
	do(t, ctx, "open the entity", chromedp.Navigate(p.BaseURL+"/catalog/default/component/live-widget"),
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
	if !evalBool(t, ctx, `window.__marker === 42`) {
		t.Errorf("the page reloaded; it should update in place")
	}
	shot(t, ctx, "updated")
}

func mustText(t *testing.T, ctx context.Context, css string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		t.Fatalf("text of %s: %v", css, err)
	}
	return s
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
	ctx := newBrowser(t, 390, 844)
	do(t, ctx, "open the catalog", chromedp.Navigate(p.BaseURL+"/catalog?kind=component"), chromedp.WaitVisible(chromedp.CSS("table.list")))
	if evalBool(t, ctx, `getComputedStyle(document.getElementById("site-nav")).display !== "none"`) {
		t.Errorf("at 390 px the navigation should start collapsed")
	}
	if !evalBool(t, ctx, `getComputedStyle(document.querySelector("table.list tbody tr")).display === "block"`) {
		t.Errorf("at 390 px table rows should be cards")
	}
	if evalBool(t, ctx, `document.documentElement.scrollWidth > 390`) {
		t.Errorf("the page scrolls sideways at 390 px")
	}
	shot(t, ctx, "catalog")
	do(t, ctx, "open the menu", chromedp.Click(chromedp.CSS(".nav-toggle")), chromedp.WaitVisible(chromedp.CSS("#site-nav a[href='/catalog-import']")))
	if !evalBool(t, ctx, `document.querySelector(".nav-toggle").getAttribute("aria-expanded") === "true"`) {
		t.Errorf("the menu button should say it is expanded")
	}
	shot(t, ctx, "menu")
	do(t, ctx, "open an entity", chromedp.Navigate(p.BaseURL+"/catalog/default/component/ledger-service"), chromedp.WaitVisible(chromedp.CSS("h1")))
	if evalBool(t, ctx, `document.documentElement.scrollWidth > 390`) {
		t.Errorf("the entity page scrolls sideways at 390 px")
	}
	if !evalBool(t, ctx, `(el => el.scrollHeight <= el.clientHeight)(document.querySelector(".tabs"))`) {
		t.Errorf("the tab row overflows vertically (a stray scroll bar)")
	}
	// The test portal has no sign-in: the development banner spans the page
	// and has the notice colours.
	if !evalBool(t, ctx, `(el => el.getBoundingClientRect().width >= document.documentElement.clientWidth &&
		getComputedStyle(el).backgroundColor !== "rgba(0, 0, 0, 0)")(document.getElementById("dev-banner"))`) {
		t.Errorf("the development banner should be a full-width coloured notice")
	}
	shot(t, ctx, "entity")
}
