package ui_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/atrium-portal/atrium/internal/browsertest"
)

// TestBrowserCreate is a person creating a service: open the gallery,
// choose a template, fill in the first page with a mistake, pick the owner
// from the suggestions, fix the mistake, fill in the second page, review,
// create, follow the task live on its page, and open the new component.
func TestBrowserCreate(t *testing.T) {
	s := start(t, "")
	c := client{t: t, base: s.BaseURL}
	ctx := browsertest.New(t, 1280, 900)

	browsertest.Do(t, ctx, "open the gallery", chromedp.Navigate(s.BaseURL+"/"),
		chromedp.Click(chromedp.CSS(`#site-nav a[href="/create"]`)), chromedp.WaitVisible(chromedp.CSS(".cg-cards")))
	browsertest.Shot(t, ctx, "gallery")
	// Choosing a tag applies it at once (atrium.js submits the filters).
	browsertest.Do(t, ctx, "filter by the go tag", chromedp.SetValue(chromedp.ID("cg-tag"), "go"),
		chromedp.WaitReady(chromedp.CSS(`#cg-tag option[value="go"][selected]`)))
	if n := browsertest.Eval[bool](t, ctx, `document.querySelectorAll(".cg-card").length === 1`); !n {
		t.Errorf("after filtering by tag go: want one card")
	}
	browsertest.Do(t, ctx, "choose the Go service", chromedp.Click(chromedp.CSS(`.cg-card a.button[href="/create/templates/default/go-service"]`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name="v:name"]`)))
	if !browsertest.Eval[bool](t, ctx, `document.activeElement === document.querySelector('input[name="v:name"]')`) {
		t.Errorf("the name field (ui:autofocus) does not have the focus")
	}

	// A mistake in the name; the owner from the type-ahead.
	browsertest.Do(t, ctx, "type a bad name", chromedp.SendKeys(chromedp.CSS(`input[name="v:name"]`), "Parcel Web"))
	browsertest.Do(t, ctx, "type part of the owner", chromedp.SendKeys(chromedp.CSS(`input[name="v:owner"]`), "platform"),
		chromedp.WaitVisible(chromedp.CSS(`.cf-suggest li[data-value="group:default/platform-team"]`)))
	browsertest.Shot(t, ctx, "suggestions")
	browsertest.Do(t, ctx, "pick the suggestion", chromedp.Click(chromedp.CSS(`.cf-suggest li[data-value="group:default/platform-team"]`)))
	if !browsertest.Eval[bool](t, ctx, `document.querySelector('input[name="v:owner"]').value === "group:default/platform-team"`) {
		t.Errorf("picking a suggestion did not fill the owner")
	}
	browsertest.Do(t, ctx, "press Next", chromedp.Click(chromedp.ID("cf-next")), chromedp.WaitVisible(chromedp.ID("cf-summary")))
	browsertest.Shot(t, ctx, "error")
	if got := browsertest.Text(t, ctx, "#f-name-error"); !strings.Contains(got, "Must match the pattern") {
		t.Errorf("name error: got %q", got)
	}
	if !browsertest.Eval[bool](t, ctx, `document.querySelector('input[name="v:name"]').value === "Parcel Web" && document.querySelector('input[name="v:owner"]').value === "group:default/platform-team"`) {
		t.Errorf("the values were not kept after the error")
	}

	// Fix it and go on.
	browsertest.Do(t, ctx, "fix the name", chromedp.Evaluate[chromedp.Void](`document.querySelector('input[name="v:name"]').value = ""`),
		chromedp.SendKeys(chromedp.CSS(`input[name="v:name"]`), "parcel-web"),
		chromedp.Click(chromedp.ID("cf-next")), chromedp.WaitVisible(chromedp.CSS(`input[name="v:port"]`)))
	if browsertest.Eval[bool](t, ctx, `!!document.getElementById("cf-summary")`) {
		t.Errorf("the error summary is still shown on the second page")
	}
	browsertest.Do(t, ctx, "set the port and review", chromedp.SetValue(chromedp.CSS(`input[name="v:port"]`), "9191"),
		chromedp.SetValue(chromedp.CSS(`select[name="v:lifecycle"]`), "production"),
		chromedp.Click(chromedp.ID("cf-next")), chromedp.WaitVisible(chromedp.CSS(".cf-review")))
	browsertest.Shot(t, ctx, "review")
	review := browsertest.Text(t, ctx, ".cf-review")
	for _, want := range []string{"parcel-web", "group:default/platform-team", "9191", "Production"} {
		if !strings.Contains(review, want) {
			t.Errorf("review: %q missing from %q", want, review)
		}
	}
	browsertest.Do(t, ctx, "create", chromedp.Click(chromedp.ID("cf-create")))
	loc := browsertest.WaitLocation(t, ctx, "/create/tasks/")
	browsertest.Shot(t, ctx, "task")
	id := loc[strings.LastIndex(loc, "/")+1:]
	got := c.waitStatus(id, "completed", "failed")
	if got.Status != "completed" || got.Spec.Parameters["name"] != "parcel-web" || got.Spec.Parameters["port"] != float64(9191) {
		t.Errorf("task %s: status %s (%s), parameters %v", id, got.Status, got.State.Error, got.Spec.Parameters)
	}

	// The task page follows the run live: without a reload it shows every
	// step's log and, at the end, the output links; "Open in catalog" leads
	// to the new component.
	browsertest.Poll(t, ctx, "the task page shows completion", `document.getElementById("task-status").dataset.status === "completed"`)
	browsertest.Poll(t, ctx, "the steps' logs are on the page", `[...document.querySelectorAll("li.task-step pre.task-log")].some(p => p.textContent.trim() !== "")`)
	browsertest.Shot(t, ctx, "task-done")
	browsertest.Do(t, ctx, "open the new component", chromedp.Click(chromedp.CSS(`#task-output a[data-kind="entity"]`)),
		chromedp.WaitVisible(chromedp.CSS("main h1")))
	if loc := browsertest.WaitLocation(t, ctx, "/catalog/"); !strings.HasSuffix(loc, "/catalog/default/component/parcel-web") {
		t.Errorf("Open in catalog went to %q, want /catalog/default/component/parcel-web", loc)
	}
	if h := browsertest.Text(t, ctx, "main h1"); !strings.Contains(h, "parcel-web") {
		t.Errorf("the entity page's heading is %q", h)
	}
}

// TestBrowserFormScript checks what create-form.js adds: conditional
// fields follow their control without a round trip, and array items are
// added and removed.
func TestBrowserFormScript(t *testing.T) {
	s := start(t, "")
	ctx := browsertest.New(t, 1280, 900)
	browsertest.Do(t, ctx, "open the deploy template", chromedp.Navigate(s.BaseURL+"/create/templates/default/deploy"),
		chromedp.WaitVisible(chromedp.CSS(`select[name="v:target"]`)))
	if browsertest.Eval[bool](t, ctx, `!document.querySelector('[data-field="v:hostname"]').hidden`) {
		t.Errorf("hostname is shown before a target is chosen")
	}
	browsertest.Do(t, ctx, "choose vm", chromedp.SetValue(chromedp.CSS(`select[name="v:target"]`), "vm"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('select[name="v:target"]').dispatchEvent(new Event("change", {bubbles: true}))`),
		chromedp.WaitVisible(chromedp.CSS(`input[name="v:hostname"]`)))
	if !browsertest.Eval[bool](t, ctx, `document.querySelector('[data-field="v:namespace"]').hidden`) {
		t.Errorf("namespace is shown for target vm")
	}
	// Two labels: type one, add a box, type another, remove the first.
	browsertest.Do(t, ctx, "go to the labels page",
		chromedp.SendKeys(chromedp.CSS(`input[name="v:hostname"]`), "shop.example"),
		chromedp.SendKeys(chromedp.CSS(`input[name="v:token"]`), "s3cret-token"),
		chromedp.Click(chromedp.ID("cf-next")), chromedp.WaitVisible(chromedp.CSS(`button[data-add="v:labels"]`)))
	browsertest.Do(t, ctx, "add labels", chromedp.SendKeys(chromedp.CSS(`input[name="v:labels"]`), "alpha"),
		chromedp.Click(chromedp.CSS(`button[data-add="v:labels"]`)))
	if !browsertest.Eval[bool](t, ctx, `document.querySelectorAll('input[name="v:labels"]').length === 2`) {
		html, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('[data-field="v:labels"]').outerHTML`))
		t.Fatalf("no second box after Add: %q", html)
	}
	browsertest.Do(t, ctx, "type the second label", chromedp.SendKeys(chromedp.CSS(`.cf-item:nth-child(2) input`), "beta"),
		chromedp.Click(chromedp.CSS(`.cf-item:first-child [data-remove]`)))
	browsertest.Poll(t, ctx, "the first box removed", `Array.from(document.querySelectorAll('input[name="v:labels"]')).map(i => i.value).join() === "beta"`)
	browsertest.Do(t, ctx, "review", chromedp.Click(chromedp.ID("cf-next")), chromedp.WaitVisible(chromedp.CSS(".cf-review")))
	review := browsertest.Text(t, ctx, ".cf-review")
	if !strings.Contains(review, "beta") || strings.Contains(review, "alpha") || !strings.Contains(review, "shop.example") {
		t.Errorf("review: got %q, want the label beta and the hostname", review)
	}
	if strings.Contains(review, "s3cret-token") {
		t.Errorf("review shows the secret")
	}
}
