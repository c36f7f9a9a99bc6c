package app_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/atrium-portal/atrium/internal/app/apptest"
	"github.com/atrium-portal/atrium/internal/browsertest"
	"github.com/atrium-portal/atrium/internal/pluginhost/pluginhosttest"
)

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
	deadline := time.Now().Add(time.Minute)
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

	for _, width := range []int{1280, 390} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			ctx := browsertest.New(t, width, 900)
			sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			if err := chromedp.Do(sctx, chromedp.Navigate(srv.BaseURL+"/settings/plugins"),
				chromedp.WaitVisible(chromedp.CSS(`#plugin-echo`))); err != nil {
				t.Fatalf("open /settings/plugins: %v", err)
			}
			if got := browsertest.Eval[string](t, ctx, `document.querySelector('#plugin-echo .badge.ok').textContent`); got != "running" {
				t.Errorf("state badge: %q", got)
			}
			// The running state has the "ok" colour, not the neutral badge's.
			okBg := browsertest.Eval[string](t, ctx, `getComputedStyle(document.querySelector('#plugin-echo .badge.ok')).backgroundColor`)
			plainBg := browsertest.Eval[string](t, ctx, `getComputedStyle(document.querySelector('#plugin-echo td .badge:not(.ok)')).backgroundColor`)
			if okBg == plainBg {
				t.Errorf("the running badge has the neutral colour %s", okBg)
			}
			if v := browsertest.Eval[float64](t, ctx, `document.querySelector('#plugin-echo meter').value / document.querySelector('#plugin-echo meter').max`); v <= 0 || v >= 1 {
				t.Errorf("memory bar at %.3f of the budget", v)
			}
			if !browsertest.Eval[bool](t, ctx, `document.querySelector('#registry-echo .unmaintained').getBoundingClientRect().height > 0`) {
				t.Error("the unmaintained badge is not shown")
			}
			if got := browsertest.Eval[string](t, ctx, `[...document.querySelectorAll('#registry-echo tr[data-version="2.0.0"] td .badge')].map(b => b.textContent).join(" ")`); got != "no yes yes" {
				t.Errorf("2.0.0 in the matrix: %q", got)
			}
			if n := browsertest.Eval[float64](t, ctx, `document.querySelectorAll('main [style], main script').length`); n != 0 {
				t.Errorf("%v inline styles or scripts in the page", n)
			}
			if w := browsertest.Eval[float64](t, ctx, `document.documentElement.scrollWidth`); w > float64(width) {
				t.Errorf("the page is %vpx wide at %dpx", w, width)
			}
			if width != 1280 {
				return
			}
			// Restart from the page: a form with the CSRF token, back to
			// the page with a notice, a new process, an audit record.
			if err := chromedp.Do(sctx, chromedp.Click(chromedp.CSS(`#plugin-echo button[aria-label="Restart echo"]`)),
				chromedp.WaitVisible(chromedp.CSS(`.alert.info[role="status"]`))); err != nil {
				t.Fatalf("restart from the page: %v", err)
			}
			if got := browsertest.Eval[string](t, ctx, `document.querySelector('.alert.info').textContent`); got != "Plugin echo restarted." {
				t.Errorf("notice: %q", got)
			}
			if got := browsertest.Eval[string](t, ctx, `document.querySelector('#plugin-echo td[data-label="Restarts"]').textContent`); got != "1" {
				t.Errorf("restarts after the restart: %q", got)
			}
			var events struct {
				Items []struct{ Action, Outcome, Resource string }
			}
			c.json("GET", "/api/audit/events?action=plugin.restart", nil, 200, &events)
			if len(events.Items) != 1 || events.Items[0].Outcome != "succeeded" || events.Items[0].Resource != "plugin:echo" {
				t.Errorf("audit of the restart: %+v", events.Items)
			}
		})
	}
}
