package ui_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const chromiumPath = "/usr/bin/chromium"

// newBrowser starts headless Chromium for one test (as the portal's
// browser tests do). Without chromium the test is skipped, except in CI.
func newBrowser(t *testing.T, width, height int) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("browser tests need %s in CI: %v", chromiumPath, err)
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

// shot saves a screenshot under the test's temp directory, and under
// $ATRIUM_SHOTS when set.
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
		if err := os.WriteFile(filepath.Join(d, file), png, 0o644); err == nil {
			t.Logf("screenshot: %s", filepath.Join(d, file))
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

func poll(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Run(pctx, chromedp.Poll[bool](expr)); err != nil {
		t.Fatalf("%s (%s): %v", what, expr, err)
	}
}

// TestBrowserCreate is a person creating a service: open the gallery,
// choose a template, fill in the first page with a mistake, pick the owner
// from the suggestions, fix the mistake, fill in the second page, review,
// create, follow the task live on its page, and open the new component.
func TestBrowserCreate(t *testing.T) {
	s := start(t, "")
	c := client{t: t, base: s.BaseURL}
	ctx := newBrowser(t, 1280, 900)

	do(t, ctx, "open the gallery", chromedp.Navigate(s.BaseURL+"/"),
		chromedp.Click(chromedp.CSS(`#site-nav a[href="/create"]`)), chromedp.WaitVisible(chromedp.CSS(".cg-cards")))
	shot(t, ctx, "gallery")
	// Choosing a tag applies it at once (atrium.js submits the filters).
	do(t, ctx, "filter by the go tag", chromedp.SetValue(chromedp.ID("cg-tag"), "go"),
		chromedp.WaitReady(chromedp.CSS(`#cg-tag option[value="go"][selected]`)))
	if n := evalBool(t, ctx, `document.querySelectorAll(".cg-card").length === 1`); !n {
		t.Errorf("after filtering by tag go: want one card")
	}
	do(t, ctx, "choose the Go service", chromedp.Click(chromedp.CSS(`.cg-card a.button[href="/create/templates/default/go-service"]`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name="v:name"]`)))
	if !evalBool(t, ctx, `document.activeElement === document.querySelector('input[name="v:name"]')`) {
		t.Errorf("the name field (ui:autofocus) does not have the focus")
	}

	// A mistake in the name; the owner from the type-ahead.
	do(t, ctx, "type a bad name", chromedp.SendKeys(chromedp.CSS(`input[name="v:name"]`), "Parcel Web"))
	do(t, ctx, "type part of the owner", chromedp.SendKeys(chromedp.CSS(`input[name="v:owner"]`), "platform"),
		chromedp.WaitVisible(chromedp.CSS(`.cf-suggest li[data-value="group:default/platform-team"]`)))
	shot(t, ctx, "suggestions")
	do(t, ctx, "pick the suggestion", chromedp.Click(chromedp.CSS(`.cf-suggest li[data-value="group:default/platform-team"]`)))
	if !evalBool(t, ctx, `document.querySelector('input[name="v:owner"]').value === "group:default/platform-team"`) {
		t.Errorf("picking a suggestion did not fill the owner")
	}
	do(t, ctx, "press Next", chromedp.Click(chromedp.ID("cf-next")), chromedp.WaitVisible(chromedp.ID("cf-summary")))
	shot(t, ctx, "error")
	if got := mustText(t, ctx, "#f-name-error"); !strings.Contains(got, "Must match the pattern") {
		t.Errorf("name error: got %q", got)
	}
	if !evalBool(t, ctx, `document.querySelector('input[name="v:name"]').value === "Parcel Web" && document.querySelector('input[name="v:owner"]').value === "group:default/platform-team"`) {
		t.Errorf("the values were not kept after the error")
	}

	// Fix it and go on.
	do(t, ctx, "fix the name", chromedp.Evaluate[chromedp.Void](`document.querySelector('input[name="v:name"]').value = ""`),
		chromedp.SendKeys(chromedp.CSS(`input[name="v:name"]`), "parcel-web"),
		chromedp.Click(chromedp.ID("cf-next")), chromedp.WaitVisible(chromedp.CSS(`input[name="v:port"]`)))
	if evalBool(t, ctx, `!!document.getElementById("cf-summary")`) {
		t.Errorf("the error summary is still shown on the second page")
	}
	do(t, ctx, "set the port and review", chromedp.SetValue(chromedp.CSS(`input[name="v:port"]`), "9191"),
		chromedp.SetValue(chromedp.CSS(`select[name="v:lifecycle"]`), "production"),
		chromedp.Click(chromedp.ID("cf-next")), chromedp.WaitVisible(chromedp.CSS(".cf-review")))
	shot(t, ctx, "review")
	review := mustText(t, ctx, ".cf-review")
	for _, want := range []string{"parcel-web", "group:default/platform-team", "9191", "Production"} {
		if !strings.Contains(review, want) {
			t.Errorf("review: %q missing from %q", want, review)
		}
	}
	do(t, ctx, "create", chromedp.Click(chromedp.ID("cf-create")))
	loc := waitLocation(t, ctx, "/create/tasks/")
	shot(t, ctx, "task")
	id := loc[strings.LastIndex(loc, "/")+1:]
	got := c.waitStatus(id, "completed", "failed")
	if got.Status != "completed" || got.Spec.Parameters["name"] != "parcel-web" || got.Spec.Parameters["port"] != float64(9191) {
		t.Errorf("task %s: status %s (%s), parameters %v", id, got.Status, got.State.Error, got.Spec.Parameters)
	}

	// The task page follows the run live: without a reload it shows every
	// step's log and, at the end, the output links; "Open in catalog" leads
	// to the new component.
	poll(t, ctx, "the task page shows completion", `document.getElementById("task-status").dataset.status === "completed"`)
	poll(t, ctx, "the steps' logs are on the page", `[...document.querySelectorAll("li.task-step pre.task-log")].some(p => p.textContent.trim() !== "")`)
	shot(t, ctx, "task-done")
	do(t, ctx, "open the new component", chromedp.Click(chromedp.CSS(`#task-output a[data-kind="entity"]`)),
		chromedp.WaitVisible(chromedp.CSS("main h1")))
	if loc := waitLocation(t, ctx, "/catalog/"); !strings.HasSuffix(loc, "/catalog/default/component/parcel-web") {
		t.Errorf("Open in catalog went to %q, want /catalog/default/component/parcel-web", loc)
	}
	if h := mustText(t, ctx, "main h1"); !strings.Contains(h, "parcel-web") {
		t.Errorf("the entity page's heading is %q", h)
	}
}

// TestBrowserFormScript checks what create-form.js adds: conditional
// fields follow their control without a round trip, and array items are
// added and removed.
func TestBrowserFormScript(t *testing.T) {
	s := start(t, "")
	ctx := newBrowser(t, 1280, 900)
	do(t, ctx, "open the deploy template", chromedp.Navigate(s.BaseURL+"/create/templates/default/deploy"),
		chromedp.WaitVisible(chromedp.CSS(`select[name="v:target"]`)))
	if evalBool(t, ctx, `!document.querySelector('[data-field="v:hostname"]').hidden`) {
		t.Errorf("hostname is shown before a target is chosen")
	}
	do(t, ctx, "choose vm", chromedp.SetValue(chromedp.CSS(`select[name="v:target"]`), "vm"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('select[name="v:target"]').dispatchEvent(new Event("change", {bubbles: true}))`),
		chromedp.WaitVisible(chromedp.CSS(`input[name="v:hostname"]`)))
	if !evalBool(t, ctx, `document.querySelector('[data-field="v:namespace"]').hidden`) {
		t.Errorf("namespace is shown for target vm")
	}
	// Two labels: type one, add a box, type another, remove the first.
	do(t, ctx, "go to the labels page",
		chromedp.SendKeys(chromedp.CSS(`input[name="v:hostname"]`), "shop.example"),
		chromedp.SendKeys(chromedp.CSS(`input[name="v:token"]`), "s3cret-token"),
		chromedp.Click(chromedp.ID("cf-next")), chromedp.WaitVisible(chromedp.CSS(`button[data-add="v:labels"]`)))
	do(t, ctx, "add labels", chromedp.SendKeys(chromedp.CSS(`input[name="v:labels"]`), "alpha"),
		chromedp.Click(chromedp.CSS(`button[data-add="v:labels"]`)))
	if !evalBool(t, ctx, `document.querySelectorAll('input[name="v:labels"]').length === 2`) {
		html, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('[data-field="v:labels"]').outerHTML`))
		t.Fatalf("no second box after Add: %q", html)
	}
	do(t, ctx, "type the second label", chromedp.SendKeys(chromedp.CSS(`.cf-item:nth-child(2) input`), "beta"),
		chromedp.Click(chromedp.CSS(`.cf-item:first-child [data-remove]`)))
	poll(t, ctx, "the first box removed", `Array.from(document.querySelectorAll('input[name="v:labels"]')).map(i => i.value).join() === "beta"`)
	do(t, ctx, "review", chromedp.Click(chromedp.ID("cf-next")), chromedp.WaitVisible(chromedp.CSS(".cf-review")))
	review := mustText(t, ctx, ".cf-review")
	if !strings.Contains(review, "beta") || strings.Contains(review, "alpha") || !strings.Contains(review, "shop.example") {
		t.Errorf("review: got %q, want the label beta and the hostname", review)
	}
	if strings.Contains(review, "s3cret-token") {
		t.Errorf("review shows the secret")
	}
}

func mustText(t *testing.T, ctx context.Context, css string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		t.Fatalf("text of %s: %v", css, err)
	}
	return s
}

// waitLocation waits for a navigation to a URL whose path starts with
// prefix and returns the URL.
func waitLocation(t *testing.T, ctx context.Context, prefix string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var loc string
	for time.Now().Before(deadline) {
		// Asking during the navigation fails; ask again.
		if l, err := chromedp.Run(ctx, chromedp.Location()); err == nil {
			loc = l
			if u, err := url.Parse(l); err == nil && strings.HasPrefix(u.Path, prefix) {
				return l
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("location: got %q, want a path starting with %s", loc, prefix)
	return ""
}
