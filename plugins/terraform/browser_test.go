package terraform_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/atrium-portal/atrium/internal/app/apptest"
	"github.com/atrium-portal/atrium/internal/browsertest"
)

// TestBrowserTerraformCard opens, on a desktop and a phone, the page of a
// component whose workspace a template task ran: the Terraform card with
// a green badge for the applied run linking to it, the outputs with the
// sensitive one masked, and no horizontal overflow.
func TestBrowserTerraformCard(t *testing.T) {
	sim := startSim(t)
	dir := writeCatalog(t)
	base := apptest.Start(t, appConfig(dir, sim.Base))
	c := client{T: t, Base: base}
	var created struct{ ID string }
	c.JSON("POST", "/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/infra", "values": map[string]any{"name": "payments"},
		"secrets": map[string]any{"armSecret": armSecret}}, 201, &created)
	c.TaskEvents(created.ID, nil)
	for _, width := range []int{1280, 390} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			ctx := browsertest.New(t, width, 900)
			browsertest.Do(t, ctx, "open the component", chromedp.Navigate(base+"/catalog/default/component/payments"),
				chromedp.WaitVisible(chromedp.CSS(`section.plugin-card[data-plugin="terraform"]`)))
			card := `document.querySelector('section.plugin-card[data-plugin="terraform"]')`
			if got := browsertest.Eval[string](t, ctx, card+`.querySelector('h2').textContent`); got != "Terraform" {
				t.Errorf("card title = %q", got)
			}
			if !browsertest.Eval[bool](t, ctx, card+`.querySelector('a.badge.ok') !== null`) {
				t.Error("no green badge for the applied run")
			}
			if href := browsertest.Eval[string](t, ctx, card+`.querySelector('a.badge.ok').getAttribute('href')`); !strings.Contains(href, "/app/example/workspaces/payments-db/runs/run-") {
				t.Errorf("run link = %q", href)
			}
			text := browsertest.Eval[string](t, ctx, card+`.textContent`)
			if !strings.Contains(text, "payments.db.internal") || !strings.Contains(text, "(sensitive)") || strings.Contains(text, "hunter2") {
				t.Errorf("card = %q", text)
			}
			if !browsertest.Eval[bool](t, ctx, `(c => c.scrollWidth <= c.clientWidth + 1)(`+card+`)`) {
				t.Error("the card overflows")
			}
		})
	}
}
