package taskui_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/atrium-portal/atrium/internal/browsertest"
)

// TestBrowserTaskPage opens a running task's page while its debug:wait
// step runs, watches the last step's log line arrive over the stream
// (without reloading the page), sees the task complete, and follows
// "Open in catalog".
func TestBrowserTaskPage(t *testing.T) {
	s := start(t, "", "")
	ctx := browsertest.New(t, 1280, 900)
	c := client{t: t, base: s.BaseURL}
	id := c.create("template:default/slow", `{"seconds":4}`)
	c.waitStatus(id, "processing")

	browsertest.Do(t, ctx, "open the task page", chromedp.Navigate(s.BaseURL+"/create/tasks/"+id),
		chromedp.WaitVisible(chromedp.CSS(`li.task-step[data-step="wait"]`)),
		chromedp.WaitVisible(chromedp.ID("task-live")))
	browsertest.Shot(t, ctx, "running")
	// A marker that a reload would wipe out.
	browsertest.Eval[string](t, ctx, `window.taskMarker = "still here"; document.querySelector('#task').dataset.status`)
	if got := browsertest.Eval[string](t, ctx, `document.querySelector('li.task-step[data-step="bye"] pre.task-log').textContent`); strings.Contains(got, "goodbye") {
		t.Fatalf("the last step's log already holds its line when the page opens: %q", got)
	}
	if got := browsertest.Eval[string](t, ctx, `document.querySelector('li.task-step[data-step="wait"]').dataset.status`); got != "processing" {
		t.Errorf("wait step when the page opens: got %q, want processing", got)
	}

	// The line arrives live; the step turns completed and the bar fills.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector('li.task-step[data-step="bye"] pre.task-log').textContent.includes("goodbye from the last step")`,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("watch the last step's log line arrive: %v", err)
	}
	if got := browsertest.Eval[string](t, ctx, `String(window.taskMarker)`); got != "still here" {
		t.Fatalf("the page was reloaded to show the line (marker %q); want it streamed", got)
	}
	browsertest.Do(t, ctx, "see the task complete",
		chromedp.WaitVisible(chromedp.CSS(`#task[data-status="completed"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#task-output a[data-kind="entity"]`)))
	if got := browsertest.Eval[string](t, ctx, `String(window.taskMarker)`); got != "still here" {
		t.Errorf("the page was reloaded on completion (marker %q); want the section swapped in place", got)
	}
	browsertest.Shot(t, ctx, "completed")
	for _, step := range []string{"hello", "wait", "bye"} {
		if got := browsertest.Eval[string](t, ctx, `document.querySelector('li.task-step[data-step="`+step+`"]').dataset.status`); got != "completed" {
			t.Errorf("step %s after completion: got %q", step, got)
		}
	}
	if got := browsertest.Eval[string](t, ctx, `document.getElementById('task-progress').value + "/" + document.getElementById('task-progress').max`); got != "3/3" {
		t.Errorf("progress after completion: got %q, want 3/3", got)
	}
	if got := browsertest.Eval[string](t, ctx, `document.querySelector('#task-output .task-text').innerHTML`); !strings.Contains(got, "<strong>the docs</strong>") {
		t.Errorf("output text: got %q, want the rendered markdown", got)
	}

	browsertest.Do(t, ctx, "open in catalog", chromedp.Click(chromedp.CSS(`#task-output a[data-kind="entity"]`)),
		chromedp.WaitVisible(chromedp.CSS("h1.page-title")))
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	if !strings.HasSuffix(loc, "/catalog/default/group/developers") {
		t.Errorf("after Open in catalog: at %q, want /catalog/default/group/developers", loc)
	}
	browsertest.Do(t, ctx, "open Create", chromedp.Click(chromedp.CSS(`#site-nav a[href="/create"]`)),
		chromedp.WaitVisible(chromedp.CSS(`main a[href="/create/tasks"]`)))
	browsertest.Do(t, ctx, "open My tasks from Create", chromedp.Click(chromedp.CSS(`main a[href="/create/tasks"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#task-list tr[data-task="`+id+`"]`)))
	browsertest.Shot(t, ctx, "list")
}
