package taskui_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const chromiumPath = "/usr/bin/chromium"

// newBrowser starts headless Chromium for one test (as internal/web/ui's
// browser tests do). Without chromium the test is skipped, except in CI.
func newBrowser(t *testing.T) context.Context {
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
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 120*time.Second)
	t.Cleanup(func() {
		if t.Failed() {
			if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
				p := filepath.Join(t.TempDir(), "failure.png")
				if os.WriteFile(p, png, 0o644) == nil {
					t.Logf("screenshot: %s", p)
				}
			}
		}
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	// The first action starts the browser; it must run on ctx itself, or
	// the browser ends with the first step's shorter context.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// shot saves a screenshot under $ATRIUM_SHOTS when it is set (for looking
// at the design).
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("ATRIUM_SHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, t.Name()+"-"+name+".png"), png, 0o644); err != nil {
		t.Logf("screenshot %s: %v", name, err)
	}
}

func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func evalString(t *testing.T, ctx context.Context, expr string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// TestBrowserTaskPage opens a running task's page while its debug:wait
// step runs, watches the last step's log line arrive over the stream
// (without reloading the page), sees the task complete, and follows
// "Open in catalog".
func TestBrowserTaskPage(t *testing.T) {
	s := start(t, "", "")
	ctx := newBrowser(t)
	c := client{t: t, base: s.BaseURL}
	id := c.create("template:default/slow", `{"seconds":4}`)
	c.waitStatus(id, "processing")

	do(t, ctx, "open the task page", chromedp.Navigate(s.BaseURL+"/create/tasks/"+id),
		chromedp.WaitVisible(chromedp.CSS(`li.task-step[data-step="wait"]`)),
		chromedp.WaitVisible(chromedp.ID("task-live")))
	shot(t, ctx, "running")
	// A marker that a reload would wipe out.
	evalString(t, ctx, `window.taskMarker = "still here"; document.querySelector('#task').dataset.status`)
	if got := evalString(t, ctx, `document.querySelector('li.task-step[data-step="bye"] pre.task-log').textContent`); strings.Contains(got, "goodbye") {
		t.Fatalf("the last step's log already holds its line when the page opens: %q", got)
	}
	if got := evalString(t, ctx, `document.querySelector('li.task-step[data-step="wait"]').dataset.status`); got != "processing" {
		t.Errorf("wait step when the page opens: got %q, want processing", got)
	}

	// The line arrives live; the step turns completed and the bar fills.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector('li.task-step[data-step="bye"] pre.task-log').textContent.includes("goodbye from the last step")`,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("watch the last step's log line arrive: %v", err)
	}
	if got := evalString(t, ctx, `String(window.taskMarker)`); got != "still here" {
		t.Fatalf("the page was reloaded to show the line (marker %q); want it streamed", got)
	}
	do(t, ctx, "see the task complete",
		chromedp.WaitVisible(chromedp.CSS(`#task[data-status="completed"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#task-output a[data-kind="entity"]`)))
	if got := evalString(t, ctx, `String(window.taskMarker)`); got != "still here" {
		t.Errorf("the page was reloaded on completion (marker %q); want the section swapped in place", got)
	}
	shot(t, ctx, "completed")
	for _, step := range []string{"hello", "wait", "bye"} {
		if got := evalString(t, ctx, `document.querySelector('li.task-step[data-step="`+step+`"]').dataset.status`); got != "completed" {
			t.Errorf("step %s after completion: got %q", step, got)
		}
	}
	if got := evalString(t, ctx, `document.getElementById('task-progress').value + "/" + document.getElementById('task-progress').max`); got != "3/3" {
		t.Errorf("progress after completion: got %q, want 3/3", got)
	}
	if got := evalString(t, ctx, `document.querySelector('#task-output .task-text').innerHTML`); !strings.Contains(got, "<strong>the docs</strong>") {
		t.Errorf("output text: got %q, want the rendered markdown", got)
	}

	do(t, ctx, "open in catalog", chromedp.Click(chromedp.CSS(`#task-output a[data-kind="entity"]`)),
		chromedp.WaitVisible(chromedp.CSS("h1.page-title")))
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	if !strings.HasSuffix(loc, "/catalog/default/group/developers") {
		t.Errorf("after Open in catalog: at %q, want /catalog/default/group/developers", loc)
	}
	do(t, ctx, "open Create", chromedp.Click(chromedp.CSS(`#site-nav a[href="/create"]`)),
		chromedp.WaitVisible(chromedp.CSS(`main a[href="/create/tasks"]`)))
	do(t, ctx, "open My tasks from Create", chromedp.Click(chromedp.CSS(`main a[href="/create/tasks"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#task-list tr[data-task="`+id+`"]`)))
	shot(t, ctx, "list")
}
