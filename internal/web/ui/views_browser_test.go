package ui_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/atrium-portal/atrium/internal/browsertest"
)

// TestBrowserGraphAndDocs opens an entity's graph, changes its depth,
// follows a node to its page, then reads the docs: a relative link to
// another page and a search.
func TestBrowserGraphAndDocs(t *testing.T) {
	base := startDemo(t)
	ctx := browsertest.New(t, 1280, 900)
	count := `document.querySelectorAll("svg.relgraph .relgraph-node").length`

	browsertest.Do(t, ctx, "open the graph", chromedp.Navigate(base+"/catalog/default/component/tracking-service/graph?depth=1"),
		chromedp.WaitVisible(chromedp.CSS("svg.relgraph")))
	before, err := chromedp.Run(ctx, chromedp.Evaluate[int](count))
	if err != nil {
		t.Fatal(err)
	}
	browsertest.Shot(t, ctx, "graph-depth-1")
	// Choosing a depth redraws at once: the form submits itself on change
	// (atrium.js, data-autosubmit-field). Pressing Draw as well would start a
	// second navigation over the first.
	browsertest.Do(t, ctx, "choose depth 3", chromedp.SetValue(chromedp.CSS("#graph-depth"), "3"))
	browsertest.Poll(t, ctx, fmt.Sprintf("the graph redrawn at depth 3 with more than the %d nodes of depth 1", before),
		fmt.Sprintf(`location.search.includes("depth=3") && document.readyState === "complete" && %s > %d`, count, before))
	browsertest.Shot(t, ctx, "graph-depth-3")
	browsertest.Do(t, ctx, "click the owner's node", chromedp.Click(chromedp.CSS(`svg.relgraph a[href="/catalog/default/group/tracking-team"] rect`)),
		chromedp.WaitVisible(chromedp.CSS(".entity-head")))
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasSuffix(loc, "/catalog/default/group/tracking-team") {
		t.Errorf("after clicking the node: at %s, want the group's page", loc)
	}

	browsertest.Do(t, ctx, "open the docs", chromedp.Navigate(base+"/docs"),
		chromedp.Click(chromedp.CSS(`.docs-entities a[href="/docs/default/component/tracking-service/"]`)),
		chromedp.WaitVisible(chromedp.CSS(".markdown h1")))
	browsertest.Shot(t, ctx, "docs-index")
	browsertest.Do(t, ctx, "follow the relative link", chromedp.Click(chromedp.CSS(`.markdown a[href*="runbook/"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.docs-nav a[aria-current="page"][href$="/runbook/"]`)))
	browsertest.Do(t, ctx, "search the docs", chromedp.SendKeys(chromedp.ID("docs-site-q"), "partition\n"),
		chromedp.WaitVisible(chromedp.CSS(".docs-hits")))
	hit, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".docs-hits li")))
	if !strings.Contains(hit, "Runbook") || !strings.Contains(hit, "partition") {
		t.Errorf("got search hit %q, want the runbook with a snippet", hit)
	}
	browsertest.Shot(t, ctx, "docs-search")
}
