package app_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/atrium-portal/atrium/internal/app/apptest"
	"github.com/atrium-portal/atrium/internal/pluginhost/pluginhosttest"
)

const chromium = "/usr/bin/chromium"

// pluginBrowser starts headless Chromium at width × 900 for one test.
// Without chromium the test is skipped, except in CI, where it fails.
func pluginBrowser(t *testing.T, width int64) context.Context {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("browser tests need %s in CI: %v", chromium, err)
		}
		t.Skipf("no %s; install chromium to run the browser tests", chromium)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
		chromedp.DisableGPU, chromedp.WindowSize(int(width), 900))
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
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 900)); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

func findByID(list []struct {
	ID       string
	RSSBytes int64
}, id string) int64 {
	for _, p := range list {
		if p.ID == id {
			return p.RSSBytes
		}
	}
	return 0
}

func evalIn[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// TestBrowserPluginsPage opens /settings/plugins as an operator does, on a
// desktop and a phone: the running plugin in the state's colour, its
// memory bar against the budget, the registry's matrix with the
// unmaintained badge, no inline styles, no horizontal overflow.
func TestBrowserPluginsPage(t *testing.T) {
	reg := pluginhosttest.NewRegistry(t)
	reg.Publish("echo",
		pluginhosttest.Release{Version: "1.0.0", APIVersions: "^1.0.0", ReleasedAt: "2024-01-01", Binary: pluginhosttest.BuildPlugin(t, "1.0.0", "^1.0.0")},
		pluginhosttest.Release{Version: "2.0.0", APIVersions: ">=2.0.0", ReleasedAt: "2024-03-01", Binary: []byte("future")},
	)
	dir := t.TempDir()
	pluginDir := filepath.Join(dir, "plugins")
	installEcho(t, reg, pluginDir, "1.0.0")
	srv := apptest.StartServer(t, fmt.Sprintf(`atrium:
  pluginHost:
    directory: %q
    registry: %q
    allowedHosts: [%q]
    caFile: %q
    healthInterval: 100ms
`, pluginDir, reg.URL(), reg.Host(), reg.CAFile))
	// Wait for a memory reading.
	c := sclient{t: t, base: srv.BaseURL}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var o struct {
			Plugins []struct {
				ID       string
				RSSBytes int64
			}
		}
		c.json("GET", "/api/plugins", nil, 200, &o)
		if st := findByID(o.Plugins, "echo"); st > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no memory reading: %+v", o)
		}
		time.Sleep(50 * time.Millisecond)
	}

	for _, width := range []int64{1280, 390} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			ctx := pluginBrowser(t, width)
			sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			if err := chromedp.Do(sctx, chromedp.Navigate(srv.BaseURL+"/settings/plugins"),
				chromedp.WaitVisible(chromedp.CSS(`#plugin-echo`))); err != nil {
				t.Fatalf("open /settings/plugins: %v", err)
			}
			if got := evalIn[string](t, ctx, `document.querySelector('#plugin-echo .badge.ok').textContent`); got != "running" {
				t.Errorf("state badge: %q", got)
			}
			// The running state has the "ok" colour, not the neutral badge's.
			okBg := evalIn[string](t, ctx, `getComputedStyle(document.querySelector('#plugin-echo .badge.ok')).backgroundColor`)
			plainBg := evalIn[string](t, ctx, `getComputedStyle(document.querySelector('#plugin-echo td .badge:not(.ok)')).backgroundColor`)
			if okBg == plainBg {
				t.Errorf("the running badge has the neutral colour %s", okBg)
			}
			if v := evalIn[float64](t, ctx, `document.querySelector('#plugin-echo meter').value / document.querySelector('#plugin-echo meter').max`); v <= 0 || v >= 1 {
				t.Errorf("memory bar at %.3f of the budget", v)
			}
			if !evalIn[bool](t, ctx, `document.querySelector('#registry-echo .unmaintained').getBoundingClientRect().height > 0`) {
				t.Error("the unmaintained badge is not shown")
			}
			if got := evalIn[string](t, ctx, `[...document.querySelectorAll('#registry-echo tr[data-version="2.0.0"] td .badge')].map(b => b.textContent).join(" ")`); got != "no yes yes" {
				t.Errorf("2.0.0 in the matrix: %q", got)
			}
			if n := evalIn[float64](t, ctx, `document.querySelectorAll('main [style], main script').length`); n != 0 {
				t.Errorf("%v inline styles or scripts in the page", n)
			}
			if w := evalIn[float64](t, ctx, `document.documentElement.scrollWidth`); w > float64(width) {
				t.Errorf("the page is %vpx wide at %dpx", w, width)
			}
		})
	}
}
