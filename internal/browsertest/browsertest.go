// Package browsertest drives Debian's headless Chromium (through chromedp)
// for Atrium's browser tests: one browser per test, a screenshot when the
// test fails, and steps that fail the test naming what was being done.
//
// Without /usr/bin/chromium a test is skipped, except in CI (CI set), where
// it fails: .ci/run installs chromium.
package browsertest

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

// ChromiumPath is where Debian's chromium package puts the browser.
const ChromiumPath = "/usr/bin/chromium"

// StepTimeout bounds one Do, Poll or WaitLocation.
const StepTimeout = 20 * time.Second

// New starts headless Chromium with a width×height window for one test and
// returns its context, valid for at most two minutes. It stops with the
// test; a failed test leaves a screenshot (see Shot).
func New(t testing.TB, width, height int) context.Context {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("browser tests need %s in CI: %v (.ci/run installs it)", ChromiumPath, err)
		}
		t.Skipf("no %s; install chromium to run the browser tests", ChromiumPath)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(ChromiumPath),
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
			Shot(t, ctx, "failure")
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

// Shot saves a full-page screenshot under the test's temp directory, and
// also under $ATRIUM_SHOTS when that is set (for looking at the design).
func Shot(t testing.TB, ctx context.Context, name string) {
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
		p := filepath.Join(d, file)
		if err := os.WriteFile(p, png, 0o644); err == nil {
			t.Logf("screenshot: %s", p)
		}
	}
}

// Do runs steps within StepTimeout and fails the test with what was being
// done.
func Do(t testing.TB, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, StepTimeout)
	defer cancel()
	if err := chromedp.Do(sctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// Eval evaluates a JavaScript expression in the page.
func Eval[T any](t testing.TB, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// Poll waits until a JavaScript expression is true, within StepTimeout.
// It evaluates the expression again and again, so a page navigating in
// between (its script context gone for a moment) is waited out, not an
// error.
func Poll(t testing.TB, ctx context.Context, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(StepTimeout)
	var last error
	for time.Now().Before(deadline) && ctx.Err() == nil {
		ectx, cancel := context.WithTimeout(ctx, 2*time.Second)
		ok, err := chromedp.Run(ectx, chromedp.Evaluate[bool](expr))
		cancel()
		if err == nil && ok {
			return
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s (%s): not true within %s (last error: %v)", what, expr, StepTimeout, last)
}

// Text returns the text of the first element matching css.
func Text(t testing.TB, ctx context.Context, css string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		t.Fatalf("text of %s: %v", css, err)
	}
	return s
}

// WaitLocation waits until the page's path starts with prefix and returns
// the whole location.
func WaitLocation(t testing.TB, ctx context.Context, prefix string) string {
	t.Helper()
	deadline := time.Now().Add(StepTimeout)
	var loc string
	for time.Now().Before(deadline) {
		// Asking during a navigation fails; ask again.
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
