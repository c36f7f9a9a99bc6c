package azure_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/atrium-portal/atrium/internal/app/apptest"
	"github.com/atrium-portal/atrium/internal/browsertest"
)

// TestBrowserCard deploys through a template task, then opens the
// component's page in a browser: the Azure card shows the simulated
// label, a green badge per resource, the month-to-date cost and its chart,
// without overflowing on a desktop or a phone.
func TestBrowserCard(t *testing.T) {
	dir := writeCatalog(t)
	base := apptest.Start(t, appConfig(dir, "30ms"))
	c := client{T: t, Base: base}
	var created struct{ ID string }
	c.JSON("POST", "/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/infra", "values": map[string]any{"name": "payments"}}, 201, &created)
	c.TaskEvents(created.ID, nil)
	for _, width := range []int{1280, 390} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			ctx := browsertest.New(t, width, 900)
			browsertest.Do(t, ctx, "open the component", chromedp.Navigate(base+"/catalog/default/component/payments"),
				chromedp.WaitVisible(chromedp.CSS(`section.plugin-card[data-plugin="azure"]`)))
			card := `document.querySelector('section.plugin-card[data-plugin="azure"]')`
			if got := browsertest.Eval[string](t, ctx, card+`.querySelector('h2').textContent`); got != "Azure" {
				t.Errorf("card title = %q", got)
			}
			text := browsertest.Eval[string](t, ctx, card+`.textContent`)
			for _, want := range []string{"simulated Azure", "rg-payments", "paymentsdata", "Month-to-date cost"} {
				if !strings.Contains(text, want) {
					t.Errorf("card lacks %q: %q", want, text)
				}
			}
			if n := browsertest.Eval[int](t, ctx, card+`.querySelectorAll('.badge.ok').length`); n != 3 {
				t.Errorf("green badges = %d, want 3", n)
			}
			if !browsertest.Eval[bool](t, ctx, card+`.querySelector('figure.plugin-chart svg').getBoundingClientRect().width > 0`) {
				t.Error("the cost chart is not drawn")
			}
			if !browsertest.Eval[bool](t, ctx, `(c => c.scrollWidth <= c.clientWidth + 1)(`+card+`)`) {
				t.Error("the card overflows")
			}
		})
	}
}
