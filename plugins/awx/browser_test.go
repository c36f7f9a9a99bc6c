package awx_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/atrium-portal/atrium/internal/app/apptest"
	"github.com/atrium-portal/atrium/internal/browsertest"
)

// TestBrowserDay2Template follows the demo's day-2 journey in a browser:
// the form of "Run an Ansible job template against a component" (picking
// the component by typing), the live task page with the job's output, the
// component link, then the imported template's page with the Ansible jobs
// card (simulated badge, a green badge for the job), on a desktop and a
// phone without horizontal overflow.
func TestBrowserDay2Template(t *testing.T) {
	base := apptest.Start(t, `catalog:
  rules: [{ allow: [Component, API, Resource, System, Domain, Group, User, Location, Template] }]
atrium:
  demo: true
  allowedLocationTypes: [file, url]
`)
	for _, width := range []int{1280, 390} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			ctx := browsertest.New(t, width, 900)
			browsertest.Do(t, ctx, "open the form", chromedp.Navigate(base+"/create/templates/default/ansible-job"),
				chromedp.WaitVisible(chromedp.CSS(`input[name="v:component"]`)))
			browsertest.Do(t, ctx, "type part of the component", chromedp.SendKeys(chromedp.CSS(`input[name="v:component"]`), "payment"),
				chromedp.WaitVisible(chromedp.CSS(`.cf-suggest li[data-value="component:default/payment-service"]`)))
			browsertest.Do(t, ctx, "pick it", chromedp.Click(chromedp.CSS(`.cf-suggest li[data-value="component:default/payment-service"]`)))
			browsertest.Do(t, ctx, "choose the job template and review", chromedp.SetValue(chromedp.CSS(`select[name="v:jobTemplate"]`), "Restart service"),
				chromedp.Click(chromedp.ID("cf-next")), chromedp.WaitVisible(chromedp.CSS(".cf-review")))
			if review := browsertest.Text(t, ctx, ".cf-review"); !strings.Contains(review, "Restart service") || !strings.Contains(review, "payment-service") {
				t.Errorf("review = %q", review)
			}
			browsertest.Do(t, ctx, "create", chromedp.Click(chromedp.ID("cf-create")))
			browsertest.WaitLocation(t, ctx, "/create/tasks/")
			browsertest.Poll(t, ctx, "the task completes", `document.getElementById("task-status").dataset.status === "completed"`)
			browsertest.Poll(t, ctx, "the job's output is on the page",
				`[...document.querySelectorAll("li.task-step pre.task-log")].some(p => p.textContent.includes("PLAY RECAP") && p.textContent.includes("simulated AWX"))`)
			if !browsertest.Eval[bool](t, ctx, `[...document.querySelectorAll("#task-output a")].some(a => a.href.includes("/sim/awx/api/v2/jobs/"))`) {
				t.Error("no link to the job")
			}
			browsertest.Do(t, ctx, "open the template's page", chromedp.Navigate(base+"/catalog/default/resource/awx-jt-8-restart-service"),
				chromedp.WaitVisible(chromedp.CSS(`section.plugin-card[data-plugin="awx"]`)))
			card := `document.querySelector('section.plugin-card[data-plugin="awx"]')`
			if got := browsertest.Eval[string](t, ctx, card+`.querySelector('h2').textContent`); got != "Ansible jobs" {
				t.Errorf("card title = %q", got)
			}
			text := browsertest.Eval[string](t, ctx, card+`.textContent`)
			if !strings.Contains(text, "simulated AWX") || !strings.Contains(text, "successful") {
				t.Errorf("card = %q", text)
			}
			if !browsertest.Eval[bool](t, ctx, card+`.querySelector('.badge.ok') !== null`) {
				t.Error("no green badge for the successful job")
			}
			if !browsertest.Eval[bool](t, ctx, `(c => c.scrollWidth <= c.clientWidth + 1)(`+card+`)`) {
				t.Error("the card overflows")
			}
		})
	}
}
