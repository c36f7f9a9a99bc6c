package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/plugin"
)

func TestCardHref(t *testing.T) {
	for i, tc := range []struct{ in, want string }{
		{"https://ci.example.com/p/1", "https://ci.example.com/p/1"},
		{"http://x.test", "http://x.test"},
		{"/catalog/default/component/a", "/catalog/default/component/a"},
		{"//evil.test/x", ""},
		{"/\\evil.test", ""},
		{"javascript:alert(1)", ""},
		{"data:text/html,<script>", ""},
		{"mailto:a@b.c", ""},
		{"relative/path", ""},
		{"", ""},
	} {
		if got := cardHref(tc.in); got != tc.want {
			t.Errorf("%d: cardHref(%q) = %q, want %q", i, tc.in, got, tc.want)
		}
	}
}

func TestSelectorMatches(t *testing.T) {
	e := &catalog.Entity{APIVersion: "backstage.io/v1alpha1", Kind: "Component",
		Metadata: catalog.Metadata{Name: "svc", Namespace: "default", Tags: []string{"go"}},
		Spec:     map[string]any{"type": "service", "lifecycle": "production", "owner": "group:default/team-a"}}
	rows := entityRows(e)
	for i, tc := range []struct {
		sel  string
		want bool
	}{
		{"", true},
		{"kind=component", true},
		{"kind=Component,spec.type=service", true},
		{"kind=component,spec.type=website", false},
		{"kind=api", false},
		{"metadata.tags=go", true},
		{"spec.lifecycle", true},
		{"spec.nothing", false},
	} {
		if got := selectorMatches(tc.sel, rows); got != tc.want {
			t.Errorf("%d: selectorMatches(%q) = %v, want %v", i, tc.sel, got, tc.want)
		}
	}
}

func TestLineChart(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := lineChart(&plugin.TimeSeries{Label: "Deploys", Unit: "per day", Points: []plugin.Point{
		{Time: t0, Value: 2}, {Time: t0.Add(24 * time.Hour), Value: 4}, {Time: t0.Add(48 * time.Hour), Value: 3},
	}})
	if got, want := c.Points, "44.0,112.0 198.0,10.0 352.0,61.0"; got != want {
		t.Errorf("points = %q, want %q", got, want)
	}
	if c.MinLabel != "2" || c.MaxLabel != "4" || c.FromLabel != "1 Jan" || c.ToLabel != "3 Jan" {
		t.Errorf("labels = %q %q %q %q", c.MinLabel, c.MaxLabel, c.FromLabel, c.ToLabel)
	}
	if len(c.Dots) != 3 || c.Dots[1].Title != "2026-01-02 00:00: 4 per day" {
		t.Errorf("dots = %+v", c.Dots)
	}
}

type fakeCard struct {
	sel   string
	view  plugin.View
	err   error
	delay time.Duration
}

func (f *fakeCard) ID() string       { return "fake" }
func (f *fakeCard) Title() string    { return "Fake <card>" }
func (f *fakeCard) Selector() string { return f.sel }
func (f *fakeCard) Render(ctx context.Context, _ json.RawMessage) (plugin.View, error) {
	if f.delay > 0 {
		time.Sleep(f.delay) // ignores ctx on purpose
	}
	return f.view, f.err
}

// TestPluginCardsRender draws every kind of block through the real
// templates and checks that nothing a plugin sends becomes markup.
func TestPluginCardsRender(t *testing.T) {
	view := plugin.View{Blocks: []plugin.Block{
		{KeyValues: []plugin.KeyValue{{Key: "Pipeline", Value: "#42", Href: "https://ci.test/42"}, {Key: "Evil", Value: "x", Href: "javascript:alert(1)"}}},
		{Table: &plugin.Table{Columns: []string{"Env", "Version"}, Rows: [][]string{{"prod", "<b>1.2</b>"}}}},
		{Badges: []plugin.Badge{{Label: "passed", Status: plugin.StatusOK}, {Label: "flaky", Status: plugin.StatusWarning}, {Label: "down", Status: plugin.StatusError}}},
		{Links: []plugin.Link{{Title: "Runbook", URL: "/docs/x"}, {Title: "Bad", URL: "data:text/html,hi"}}},
		{Markdown: "**bold** <script>alert(1)</script><img src=x onerror=alert(1)>"},
		{TimeSeries: &plugin.TimeSeries{Label: "Latency", Unit: "ms", Points: []plugin.Point{{Time: time.Unix(0, 0), Value: 1}, {Time: time.Unix(60, 0), Value: 5}}}},
	}}
	u := &UI{p: Params{Cards: func() []PluginCard {
		return []PluginCard{
			{PluginID: "ci", Card: &fakeCard{sel: "kind=component", view: view}},
			{PluginID: "other", Card: &fakeCard{sel: "kind=api"}},
			{PluginID: "broken", Card: &fakeCard{err: plugin.Errorf(plugin.ErrUnavailable, "GitLab is down")}},
			{PluginID: "slow", Card: &fakeCard{delay: 2 * time.Second}},
		}
	}, Limits: Limits{CardTimeout: 200 * time.Millisecond}}, log: slog.New(slog.DiscardHandler)}
	a, err := loadAssets()
	if err != nil {
		t.Fatal(err)
	}
	if u.tmpl, err = parseTemplates(a); err != nil {
		t.Fatal(err)
	}
	e := &catalog.Entity{Kind: "Component", Metadata: catalog.Metadata{Name: "svc"}}
	start := time.Now()
	cards := u.entityPluginCards(context.Background(), e)
	if d := time.Since(start); d > time.Second {
		t.Errorf("rendering took %s; a slow card must not hold up the page", d)
	}
	var buf bytes.Buffer
	if err := u.tmpl.ExecuteTemplate(&buf, "plugin-cards", cards); err != nil {
		t.Fatal(err)
	}
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(buf.String()))
	if err != nil {
		t.Fatal(err)
	}
	if got := doc.Find("section.plugin-card").Length(); got != 3 {
		t.Fatalf("%d cards, want 3 (ci, broken, slow; not other)", got)
	}
	ci := doc.Find(`[data-plugin="ci"]`)
	checks := []struct {
		what string
		ok   bool
	}{
		{"title escaped", ci.Find("h2").Text() == "Fake <card>"},
		{"safe key-value link", ci.Find(`dd a[href="https://ci.test/42"]`).Length() == 1},
		{"unsafe key-value link dropped", ci.Find(`a[href^="javascript"]`).Length() == 0 && strings.Contains(ci.Find("dd").Text(), "x")},
		{"table cell escaped", ci.Find("td").Last().Text() == "<b>1.2</b>" && ci.Find("td b").Length() == 0},
		{"badge colours", ci.Find(".badge.ok").Length() == 1 && ci.Find(".badge.warn").Length() == 1 && ci.Find(".badge.err").Length() == 1},
		{"relative link kept", ci.Find(`.linklist a[href="/docs/x"]`).Length() == 1},
		{"data link dropped", ci.Find(`a[href^="data:"]`).Length() == 0},
		{"markdown rendered", ci.Find(".prose strong").Text() == "bold"},
		{"markdown sanitised", ci.Find("script").Length() == 0 && ci.Find("[onerror]").Length() == 0},
		{"chart", ci.Find("svg polyline").Length() == 1 && ci.Find("svg circle").Length() == 2},
		{"no inline style", !strings.Contains(buf.String(), "style=")},
		{"unavailable card says why", strings.Contains(doc.Find(`[data-plugin="broken"] .notice`).Text(), "GitLab is down")},
		{"slow card says so", strings.Contains(doc.Find(`[data-plugin="slow"] .notice`).Text(), "did not answer in time")},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: failed; html:\n%s", c.what, buf.String())
		}
	}
}
