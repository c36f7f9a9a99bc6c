package azure_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/atrium-portal/atrium/internal/browsertest"
)

// TestBrowserFinOps opens the FinOps page from the navigation: the
// overall chart has a bar per month, the table a row per team with the
// currency, choosing a row draws its trend and lists its components by
// system, and a component's page shows its cost card with the chart.
func TestBrowserFinOps(t *testing.T) {
	s, _ := startCosts(t, "")
	ctx := browsertest.New(t, 1280, 900)
	browsertest.Do(t, ctx, "open the portal", chromedp.Navigate(s.BaseURL+"/"), chromedp.WaitVisible(chromedp.CSS(`nav a[href="/finops"]`)))
	browsertest.Do(t, ctx, "follow the FinOps link", chromedp.Click(chromedp.CSS(`nav a[href="/finops"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#finops-overall svg rect`)))
	if n := browsertest.Eval[int](t, ctx, `document.querySelectorAll('#finops-overall .stack-bar').length`); n != 4 {
		t.Errorf("bars: got %d, want one per month (4)", n)
	}
	if !browsertest.Eval[bool](t, ctx, `document.querySelector('#finops-overall svg').getBoundingClientRect().width > 300`) {
		t.Error("the overall chart is not drawn")
	}
	rows := browsertest.Eval[[]string](t, ctx, `[...document.querySelectorAll('#finops-table tbody tr')].map(r => r.dataset.ref)`)
	if strings.Join(rows, " ") != "group:default/ops group:default/org group:default/web unattributed" &&
		strings.Join(rows, " ") != "group:default/org group:default/ops group:default/web unattributed" {
		t.Errorf("team rows: got %v", rows)
	}
	if text := browsertest.Text(t, ctx, "#finops-table tfoot"); !strings.Contains(text, "EUR") {
		t.Errorf("total row %q shows no currency", text)
	}
	browsertest.Do(t, ctx, "show the web team's trend",
		chromedp.Click(chromedp.CSS(`#finops-table tr[data-ref="group:default/web"] a.finops-select`)),
		chromedp.WaitVisible(chromedp.CSS(`#finops-selected svg polyline`)))
	browsertest.Shot(t, ctx, "finops")
	if got := browsertest.Text(t, ctx, "#finops-selected"); !strings.Contains(got, "shop") || !strings.Contains(got, "checkout") {
		t.Errorf("the web team's breakdown lacks its system and component: %q", got)
	}
	if n := browsertest.Eval[int](t, ctx, `document.querySelectorAll('#finops-selected svg circle').length`); n != 4 {
		t.Errorf("trend points: got %d, want 4", n)
	}

	browsertest.Do(t, ctx, "open a component", chromedp.Navigate(s.BaseURL+"/catalog/default/component/checkout"),
		chromedp.WaitVisible(chromedp.CSS(`#card-azure-cost svg polyline`)))
	browsertest.Shot(t, ctx, "card")
	if got := browsertest.Text(t, ctx, "#card-azure-cost"); !strings.Contains(got, "This month") || !strings.Contains(got, "EUR") {
		t.Errorf("cost card: %q", got)
	}
}
