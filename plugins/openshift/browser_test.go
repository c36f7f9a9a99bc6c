package openshift_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/atrium-portal/atrium/internal/app/apptest"
	"github.com/atrium-portal/atrium/internal/browsertest"
)

// TestBrowserWorkloadsCard opens, on a desktop and a phone, the page of a
// component a template task deployed: the Workloads card with a green
// badge for the deployment, its pods Running, the route's link, and no
// horizontal overflow.
func TestBrowserWorkloadsCard(t *testing.T) {
	_, simURL := startSim(t)
	dir := writeCatalog(t)
	base := apptest.Start(t, appConfig(dir, simURL))
	c := client{T: t, Base: base}
	if tk, log := run(c, map[string]any{"name": "shop"}); tk.Status != "completed" {
		t.Fatalf("task %s: %s\n%s", tk.Status, tk.State.Error, log)
	}
	// The simulated pods start after the task: wait until the page
	// shows them running (a fixed sleep was too short under load).
	apptest.Eventually(t, 0, "the shop's pods running on its page", func() (bool, string) {
		_, text := card(t, base, "shop")
		return strings.Contains(text, "shop 2/2") && strings.Contains(text, "Running"), text
	})
	for _, width := range []int{1280, 390} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			ctx := browsertest.New(t, width, 900)
			browsertest.Do(t, ctx, "open the component", chromedp.Navigate(base+"/catalog/default/component/shop"),
				chromedp.WaitVisible(chromedp.CSS(`section.plugin-card[data-plugin="openshift"]`)))
			card := `document.querySelector('section.plugin-card[data-plugin="openshift"]')`
			if got := browsertest.Eval[string](t, ctx, card+`.querySelector('h2').textContent`); got != "Workloads" {
				t.Errorf("card title = %q", got)
			}
			if got := browsertest.Eval[string](t, ctx, card+`.querySelector('.badge.ok').textContent`); !strings.Contains(got, "shop 2/2") {
				t.Errorf("ok badge = %q", got)
			}
			if href := browsertest.Eval[string](t, ctx, card+`.querySelector('a[href^="http://shop.apps"]').getAttribute('href')`); href != "http://shop.apps.example.com" {
				t.Errorf("route link = %q", href)
			}
			text := browsertest.Eval[string](t, ctx, card+`.textContent`)
			if !strings.Contains(text, "Running") || !strings.Contains(text, "8080/TCP") {
				t.Errorf("card = %q", text)
			}
			if !browsertest.Eval[bool](t, ctx, `(c => c.scrollWidth <= c.clientWidth + 1)(`+card+`)`) {
				t.Error("the card overflows")
			}
		})
	}
}
