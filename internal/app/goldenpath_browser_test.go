package app_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/atrium-portal/atrium/internal/app/apptest"
	"github.com/atrium-portal/atrium/internal/browsertest"
)

// TestBrowserGoldenPath follows a newcomer's golden path in the demo:
// /create, the "Service on OpenShift with an Azure database" template, its
// two form pages and review, the live task page until completed, "Open in
// catalog", and the component's page with the GitLab, Terraform,
// Workloads, Ansible jobs and Azure cards, each labelled simulated.
func TestBrowserGoldenPath(t *testing.T) {
	base := apptest.Start(t, goldenPathConfig)
	ctx := browsertest.New(t, 1280, 900)

	browsertest.Do(t, ctx, "open the gallery", chromedp.Navigate(base+"/create"), chromedp.WaitVisible(chromedp.CSS(".cg-cards")))
	browsertest.Do(t, ctx, "filter by the golden-path tag", chromedp.SetValue(chromedp.ID("cg-tag"), "golden-path"),
		chromedp.WaitReady(chromedp.CSS(`#cg-tag option[value="golden-path"][selected]`)))
	browsertest.Do(t, ctx, "choose the golden path",
		chromedp.Click(chromedp.CSS(`.cg-card a.button[href="/create/templates/default/golden-path"]`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name="v:name"]`)))

	browsertest.Do(t, ctx, "name the service", chromedp.SendKeys(chromedp.CSS(`input[name="v:name"]`), "parcel-path"))
	browsertest.Do(t, ctx, "type part of the owner", chromedp.SendKeys(chromedp.CSS(`input[name="v:owner"]`), "tracking"),
		chromedp.WaitVisible(chromedp.CSS(`.cf-suggest li[data-value="group:default/tracking-team"]`)))
	browsertest.Do(t, ctx, "pick the owner", chromedp.Click(chromedp.CSS(`.cf-suggest li[data-value="group:default/tracking-team"]`)))
	browsertest.Do(t, ctx, "go to the runtime page", chromedp.Click(chromedp.ID("cf-next")),
		chromedp.WaitVisible(chromedp.CSS(`select[name="v:location"]`)))
	browsertest.Do(t, ctx, "choose the region and review", chromedp.SetValue(chromedp.CSS(`select[name="v:location"]`), "northeurope"),
		chromedp.Click(chromedp.ID("cf-next")), chromedp.WaitVisible(chromedp.CSS(".cf-review")))
	review := browsertest.Text(t, ctx, ".cf-review")
	for _, want := range []string{"parcel-path", "group:default/tracking-team", "North Europe"} {
		if !strings.Contains(review, want) {
			t.Errorf("review lacks %q: %q", want, review)
		}
	}

	browsertest.Do(t, ctx, "create", chromedp.Click(chromedp.ID("cf-create")))
	browsertest.WaitLocation(t, ctx, "/create/tasks/")
	browsertest.Poll(t, ctx, "the task completes or fails", `["completed", "failed"].includes(document.getElementById("task").dataset.status)`)
	if got := browsertest.Eval[string](t, ctx, `document.getElementById("task").dataset.status`); got != "completed" {
		t.Fatalf("task %s: %s", got, browsertest.Text(t, ctx, "#task"))
	}
	browsertest.Shot(t, ctx, "completed")
	for _, step := range []string{"publish", "plan", "deploy", "apply", "monitoring", "register"} {
		if got := browsertest.Eval[string](t, ctx, `document.querySelector('li.task-step[data-step="`+step+`"]').dataset.status`); got != "completed" {
			t.Errorf("step %s: got %q, want completed", step, got)
		}
	}

	browsertest.Do(t, ctx, "open in catalog", chromedp.Click(chromedp.CSS(`#task-output a[data-kind="entity"]`)),
		chromedp.WaitVisible(chromedp.CSS(`section.plugin-card[data-plugin="azure"]`)))
	if loc := browsertest.WaitLocation(t, ctx, "/catalog/"); !strings.HasSuffix(loc, "/catalog/default/component/parcel-path") {
		t.Errorf("after Open in catalog: at %q", loc)
	}
	browsertest.Shot(t, ctx, "entity")
	cards := map[string][]string{
		"gitlab":    {"demo/parcel-path", "(simulated)"},
		"terraform": {"simulated Terraform", "parcel-path-db.postgres.database.azure.com"},
		"openshift": {"simulated OpenShift", "parcel-path 2/2"},
		"awx":       {"simulated AWX", "successful"},
		"azure":     {"simulated Azure", "rg-parcel-path", "parcel-path-db"},
	}
	for plugin, wants := range cards {
		card := `document.querySelector('section.plugin-card[data-plugin="` + plugin + `"]')`
		if !browsertest.Eval[bool](t, ctx, card+` !== null`) {
			t.Errorf("no %s card", plugin)
			continue
		}
		// Wide tables scroll inside their wrapper; the card itself fits.
		if !browsertest.Eval[bool](t, ctx, `(c => c.scrollWidth <= c.clientWidth + 1)(`+card+`)`) {
			t.Errorf("the %s card overflows", plugin)
		}
		text := browsertest.Eval[string](t, ctx, card+`.textContent`)
		for _, w := range wants {
			if !strings.Contains(text, w) {
				t.Errorf("%s card lacks %q: %q", plugin, w, strings.Join(strings.Fields(text), " "))
			}
		}
	}
}
