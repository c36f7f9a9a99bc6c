package ui_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/atrium-portal/atrium/internal/app"
	"github.com/atrium-portal/atrium/internal/browsertest"
	"github.com/atrium-portal/atrium/internal/config"
	"github.com/atrium-portal/atrium/plugin"
)

// cardPlugin contributes one card with every kind of block to components.
type cardPlugin struct{}

func (cardPlugin) Info() plugin.Info {
	return plugin.Info{ID: "deploys", Version: "1.0.0", APIVersions: "^1.0"}
}
func (cardPlugin) Provision(context.Context, plugin.Host, json.RawMessage) error { return nil }
func (cardPlugin) Validate(context.Context) error                                { return nil }
func (cardPlugin) Cleanup(context.Context) error                                 { return nil }
func (cardPlugin) Components() plugin.Components {
	return plugin.Components{Cards: []plugin.EntityCard{deploysCard{}}}
}

type deploysCard struct{}

func (deploysCard) ID() string       { return "deploys" }
func (deploysCard) Title() string    { return "Deployments" }
func (deploysCard) Selector() string { return "kind=component" }
func (deploysCard) Render(_ context.Context, raw json.RawMessage) (plugin.View, error) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var pts []plugin.Point
	for i, v := range []float64{3, 5, 2, 8, 6, 9, 4} {
		pts = append(pts, plugin.Point{Time: t0.AddDate(0, 0, i), Value: v})
	}
	return plugin.View{Blocks: []plugin.Block{
		{KeyValues: []plugin.KeyValue{{Key: "Last deploy", Value: "v1.4.2", Href: "https://ci.example.com/42"}}},
		{Badges: []plugin.Badge{{Label: "prod: healthy", Status: plugin.StatusOK}, {Label: "staging: failing", Status: plugin.StatusError}}},
		{Table: &plugin.Table{Columns: []string{"Env", "Version"}, Rows: [][]string{{"prod", "v1.4.2"}, {"staging", "v1.5.0-rc1"}}}},
		{Markdown: "Deploys run on **merge to main**."},
		{TimeSeries: &plugin.TimeSeries{Label: "Deploys per day", Points: pts}},
	}}, nil
}

// startPortalWithPlugins is startPortal with extra plugins.
func startPortalWithPlugins(t *testing.T, extra ...plugin.Plugin) string {
	t.Helper()
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join("testdata", "catalog.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "catalog.yaml"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	y := fmt.Sprintf(`backend:
  listen: { host: 127.0.0.1, port: 0 }
  database: { client: sqlite, connection: %q }
catalog:
  processingInterval: false
  locations: [{ type: file, target: %q }]
  rules: [{ allow: [Component, API, Resource, System, Domain, Group, User, Location] }]
atrium:
  dataDir: %q
  demo: false
  authz: { admins: [user:default/guest] }
`, filepath.Join(dir, "atrium.db"), filepath.Join(dir, "catalog.yaml"), filepath.Join(dir, "data"))
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load([]string{cfgPath}, map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, app.Options{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Listener: ln, Plugins: extra})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("run: %v", err)
		}
		_ = a.Close()
	})
	<-a.Ready()
	return "http://" + a.Addr().String()
}

// TestBrowserPluginCard draws a plugin's card on an entity page in a real
// browser, in the light and the dark theme: the chart is visible, the
// badges have different colours, and no CSP violation is reported.
func TestBrowserPluginCard(t *testing.T) {
	base := startPortalWithPlugins(t, cardPlugin{})
	ctx := browsertest.New(t, 1280, 900)
	// CSP: a violation of the page's policy fires securitypolicyviolation;
	// count them from before the page's own content loads.
	browsertest.Do(t, ctx, "watch for CSP violations", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
			Source: `window.__csp = []; document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI))`,
		})
		return err
	}))
	browsertest.Do(t, ctx, "open an entity page", chromedp.Navigate(base+"/catalog/default/component/ledger-service"),
		chromedp.WaitVisible(chromedp.CSS(`section.plugin-card[data-plugin="deploys"] svg polyline`)))
	browsertest.Shot(t, ctx, "plugin-card")
	for _, check := range []struct{ what, expr string }{
		{"the chart has a size", `(() => { const r = document.querySelector('.plugin-card svg polyline').getBoundingClientRect(); return r.width > 150 && r.height > 20 })()`},
		{"the line is stroked", `getComputedStyle(document.querySelector('.plugin-card svg polyline')).stroke !== 'none'`},
		{"the badges differ in colour", `(() => { const ok = getComputedStyle(document.querySelector('.plugin-card .badge.ok')).backgroundColor; const err = getComputedStyle(document.querySelector('.plugin-card .badge.err')).backgroundColor; return ok !== err })()`},
		{"markdown is rendered", `document.querySelector('.plugin-card .prose strong').textContent === 'merge to main'`},
		{"the table has two rows", `document.querySelectorAll('.plugin-card table tbody tr').length === 2`},
		{"the card does not overflow", `(() => { const c = document.querySelector('.plugin-card'); return c.scrollWidth <= c.clientWidth + 1 })()`},
	} {
		if !browsertest.Eval[bool](t, ctx, check.expr) {
			t.Errorf("%s: false", check.what)
		}
	}
	if csp, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__csp`)); len(csp) > 0 {
		t.Errorf("CSP violations on the entity page: %v", csp)
	}
}
