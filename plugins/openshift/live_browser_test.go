package openshift_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/atrium-portal/atrium/internal/browsertest"
)

// TestBrowserWorkloadsLive keeps a component's page open in Chromium
// while its deployment is scaled in the cluster: the Workloads card
// changes on the open page, without a navigation.
func TestBrowserWorkloadsLive(t *testing.T) {
	_, simURL, base := startLive(t)
	ctx := browsertest.New(t, 1280, 900)
	card := `document.querySelector('#card-openshift-workloads')`
	browsertest.Do(t, ctx, "open the component", chromedp.Navigate(base+"/catalog/default/component/shop"),
		chromedp.WaitVisible(chromedp.CSS(`#card-openshift-workloads`)))
	browsertest.Poll(t, ctx, "the card shows 2 of 2 ready", card+`.textContent.includes('web 2/2')`)
	browsertest.Poll(t, ctx, "the live stream is open", `document.documentElement.dataset.live === 'on'`)
	// A marker on the window survives a region reload, not a navigation.
	browsertest.Eval[bool](t, ctx, `(window.sameLoad = true)`)
	scale(t, simURL, 3)
	browsertest.Poll(t, ctx, "the open page shows 3 of 3 ready", `(c => c !== null && c.textContent.includes('web 3/3'))(`+card+`)`)
	if !browsertest.Eval[bool](t, ctx, `window.sameLoad === true`) {
		t.Error("the page was navigated again instead of updated in place")
	}
	if text := browsertest.Text(t, ctx, "#card-openshift-workloads"); !strings.Contains(text, "live") {
		t.Errorf("card: %q", text)
	}
}
