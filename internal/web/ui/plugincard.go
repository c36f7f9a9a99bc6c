package ui

import (
	"context"
	"encoding/json"
	"errors"
	"html/template"
	"log/slog"
	"math"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/markdown"
	"github.com/atrium-portal/atrium/internal/pluginhost/guard"
	"github.com/atrium-portal/atrium/plugin"
)

// PluginCard is an entity card contributed by a plugin.
type PluginCard struct {
	PluginID string
	Card     plugin.EntityCard
}

// Limits of what one card may draw; beyond them the rest is cut.
const (
	cardMaxBlocks = 20
	cardMaxRows   = 100
	cardMaxPoints = 500
)

// cardView is a card as the template draws it.
type cardView struct {
	ID       string // HTML id
	Title    string
	PluginID string
	Error    string
	Blocks   []blockView
}

type blockView struct {
	KeyValues []cardKV
	Table     *plugin.Table
	Badges    []cardBadge
	Links     []cardLink
	Markdown  template.HTML
	Chart     *seriesChart
}

type cardKV struct{ Key, Value, Href string }

type cardBadge struct{ Label, Class, Href string }

type cardLink struct{ Title, Href, Raw string }

// seriesChart is a time series drawn as an inline SVG line chart; the
// geometry is computed here so the template stays declarative.
type seriesChart struct {
	Label, Unit        string
	Width, Height      int
	Points             string // polyline points
	Dots               []chartDot
	MinLabel, MaxLabel string
	FromLabel, ToLabel string
	PlotTop, PlotBot   int
	PlotLeft, PlotRgt  int
}

type chartDot struct {
	X, Y  string
	Title string
}

// pluginCards renders, in parallel and each within Limits.CardTimeout,
// the cards whose selector matches e. A card that fails or times out
// shows why instead of its content.
func (u *UI) pluginCards(ctx context.Context, e *catalog.Entity, raw []byte) []cardView {
	if u.p.Cards == nil {
		return nil
	}
	var match []PluginCard
	rows := entityRows(e)
	for _, pc := range u.p.Cards() {
		if selectorMatches(pc.Card.Selector(), rows) {
			match = append(match, pc)
		}
	}
	out := make([]cardView, len(match))
	var wg sync.WaitGroup
	for i, pc := range match {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, u.p.Limits.CardTimeout)
			defer cancel()
			cv := cardView{ID: "card-" + cardID(pc.PluginID+"-"+pc.Card.ID()), Title: pc.Card.Title(), PluginID: pc.PluginID}
			v, err := renderWithin(cctx, u.log, pc, raw)
			if err != nil {
				u.log.Warn("plugin card failed", "plugin", pc.PluginID, "card", pc.Card.ID(), "entity", e.Ref().String(), "err", err)
				cv.Error = cardError(pc.PluginID, err, cctx.Err() != nil)
			} else {
				cv.Blocks = viewBlocks(v)
			}
			out[i] = cv
		})
	}
	wg.Wait()
	return out
}

// renderWithin returns when the card answers or ctx is done, whichever
// is first: a card that ignores its context does not hold up the page.
func renderWithin(ctx context.Context, log *slog.Logger, pc PluginCard, raw []byte) (plugin.View, error) {
	type result struct {
		v   plugin.View
		err error
	}
	ch := make(chan result, 1)
	go func() {
		// A built-in card runs in this process: its panic, on a goroutine
		// of its own, would end the whole server. It fails the card only;
		// the panic and stack go to the log.
		var v plugin.View
		err := guard.Call(log, pc.PluginID, "entity card "+pc.Card.ID()+": Render", func() (err error) {
			v, err = pc.Card.Render(ctx, raw)
			return err
		})
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		return plugin.View{}, ctx.Err()
	}
}

func cardError(pluginID string, err error, timedOut bool) string {
	if timedOut {
		return "The " + pluginID + " plugin did not answer in time."
	}
	if fault.KindOf(err) != fault.Internal {
		return fault.MessageOf(err)
	}
	if guard.IsPanic(err) {
		return "The " + pluginID + " plugin could not draw this card."
	}
	var pe *plugin.Error
	if errors.As(err, &pe) {
		return "The " + pluginID + " plugin: " + pe.Message
	}
	return "The " + pluginID + " plugin could not draw this card."
}

// viewBlocks turns a plugin's View into what the template draws, making
// every link safe and cutting what is over the limits.
func viewBlocks(v plugin.View) []blockView {
	var out []blockView
	for i, b := range v.Blocks {
		if i >= cardMaxBlocks {
			break
		}
		var bv blockView
		for _, kv := range b.KeyValues {
			bv.KeyValues = append(bv.KeyValues, cardKV{Key: kv.Key, Value: kv.Value, Href: cardHref(kv.Href)})
		}
		if t := b.Table; t != nil {
			tv := &plugin.Table{Columns: t.Columns}
			for j, r := range t.Rows {
				if j >= cardMaxRows {
					break
				}
				tv.Rows = append(tv.Rows, r)
			}
			bv.Table = tv
		}
		for _, bd := range b.Badges {
			bv.Badges = append(bv.Badges, cardBadge{Label: bd.Label, Class: badgeClass(bd.Status), Href: cardHref(bd.Href)})
		}
		for _, l := range b.Links {
			title := l.Title
			if title == "" {
				title = l.URL
			}
			bv.Links = append(bv.Links, cardLink{Title: title, Href: cardHref(l.URL), Raw: l.URL})
		}
		if b.Markdown != "" {
			bv.Markdown = markdown.HTML(b.Markdown)
		}
		if b.TimeSeries != nil && len(b.TimeSeries.Points) > 0 {
			bv.Chart = lineChart(b.TimeSeries)
		}
		out = append(out, bv)
	}
	return out
}

// badgeClass is the portal's badge class of a status.
func badgeClass(s plugin.Status) string {
	switch s {
	case plugin.StatusOK:
		return "badge ok"
	case plugin.StatusWarning:
		return "badge warn"
	case plugin.StatusError:
		return "badge err"
	case plugin.StatusPending:
		return "badge info"
	}
	return "badge"
}

// cardHref returns h when it is an http or https URL or a path within
// Atrium ("/catalog/…", not "//host"); otherwise "", and the template
// shows the text without a link.
func cardHref(h string) string {
	h = strings.TrimSpace(h)
	if h == "" {
		return ""
	}
	if strings.HasPrefix(h, "/") && !strings.HasPrefix(h, "//") && !strings.HasPrefix(h, "/\\") {
		if _, err := url.Parse(h); err != nil {
			return ""
		}
		return h
	}
	p, err := url.Parse(h)
	if err != nil || p.Host == "" {
		return ""
	}
	switch strings.ToLower(p.Scheme) {
	case "http", "https":
		return p.String()
	}
	return ""
}

const (
	chartW     = 360
	chartH     = 140
	chartLeft  = 44
	chartRight = 8
	chartTop   = 10
	chartBot   = 112
)

// lineChart lays out a time series: time on x, value on y.
func lineChart(ts *plugin.TimeSeries) *seriesChart {
	pts := ts.Points
	if len(pts) > cardMaxPoints {
		pts = pts[len(pts)-cardMaxPoints:]
	}
	c := &seriesChart{Label: ts.Label, Unit: ts.Unit, Width: chartW, Height: chartH,
		PlotTop: chartTop, PlotBot: chartBot, PlotLeft: chartLeft, PlotRgt: chartW - chartRight}
	t0, t1 := pts[0].Time, pts[0].Time
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range pts {
		if p.Time.Before(t0) {
			t0 = p.Time
		}
		if p.Time.After(t1) {
			t1 = p.Time
		}
		if !math.IsNaN(p.Value) && !math.IsInf(p.Value, 0) {
			lo, hi = math.Min(lo, p.Value), math.Max(hi, p.Value)
		}
	}
	if math.IsInf(lo, 0) {
		lo, hi = 0, 0
	}
	if hi == lo {
		hi = lo + 1
	}
	span := t1.Sub(t0).Seconds()
	var b strings.Builder
	for i, p := range pts {
		if math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
			continue
		}
		x := float64(chartLeft)
		if span > 0 {
			x += p.Time.Sub(t0).Seconds() / span * float64(chartW-chartRight-chartLeft)
		} else if len(pts) > 1 {
			x += float64(i) / float64(len(pts)-1) * float64(chartW-chartRight-chartLeft)
		}
		y := float64(chartBot) - (p.Value-lo)/(hi-lo)*float64(chartBot-chartTop)
		xs, ys := strconv.FormatFloat(x, 'f', 1, 64), strconv.FormatFloat(y, 'f', 1, 64)
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(xs + "," + ys)
		c.Dots = append(c.Dots, chartDot{X: xs, Y: ys, Title: p.Time.UTC().Format("2006-01-02 15:04") + ": " + formatValue(p.Value, ts.Unit)})
	}
	c.Points = b.String()
	c.MinLabel, c.MaxLabel = formatValue(lo, ""), formatValue(hi, "")
	layout := "2 Jan"
	if t1.Sub(t0).Hours() < 48 {
		layout = "15:04"
	}
	c.FromLabel, c.ToLabel = t0.UTC().Format(layout), t1.UTC().Format(layout)
	return c
}

func formatValue(v float64, unit string) string {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if math.Abs(v) >= 1000 || (v != math.Trunc(v) && len(s) > 6) {
		s = strconv.FormatFloat(v, 'g', 4, 64)
	}
	if unit != "" {
		s += " " + unit
	}
	return s
}

// cardID makes an HTML id from a plugin and card id.
func cardID(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	return b.String()
}

// entityRows indexes e the way the store does, for selectors.
func entityRows(e *catalog.Entity) map[string][]string {
	rows := map[string][]string{}
	for _, r := range catalog.SearchRows(e) {
		rows[r.Key] = append(rows[r.Key], r.Value)
	}
	return rows
}

// selectorMatches reports whether an entity (its search rows) matches a
// card's selector in Backstage's filter syntax; an empty selector matches
// everything and an invalid one nothing.
func selectorMatches(selector string, rows map[string][]string) bool {
	f, err := catalog.ParseFilterParams([]string{selector})
	if err != nil {
		return false
	}
	return filterMatches(f, rows)
}

func filterMatches(f *catalog.Filter, rows map[string][]string) bool {
	if f == nil {
		return true
	}
	switch f.Op {
	case catalog.OpAll:
		for _, c := range f.Children {
			if !filterMatches(c, rows) {
				return false
			}
		}
		return true
	case catalog.OpAny:
		for _, c := range f.Children {
			if filterMatches(c, rows) {
				return true
			}
		}
		return false
	case catalog.OpNot:
		return len(f.Children) == 1 && !filterMatches(f.Children[0], rows)
	}
	vals, ok := rows[f.Key]
	switch f.Match {
	case catalog.MatchExists:
		return ok
	case catalog.MatchIn:
		for _, v := range vals {
			for _, want := range f.Values {
				if v == want {
					return true
				}
			}
		}
	case catalog.MatchPrefix:
		for _, v := range vals {
			if strings.HasPrefix(v, f.Values[0]) {
				return true
			}
		}
	}
	return false
}

// entityPluginCards renders the plugin cards of an entity page.
func (u *UI) entityPluginCards(ctx context.Context, e *catalog.Entity) []cardView {
	if u.p.Cards == nil {
		return nil
	}
	raw, err := json.Marshal(e)
	if err != nil {
		u.log.Error("encoding an entity for plugin cards", "entity", e.Ref().String(), "err", err)
		return nil
	}
	return u.pluginCards(ctx, e, raw)
}
