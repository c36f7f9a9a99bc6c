package ui

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/integrations/azure"
	"github.com/atrium-portal/atrium/internal/web"
	"github.com/atrium-portal/atrium/plugin"
)

// CostQuery is what the FinOps page asks its cost source.
type CostQuery struct {
	// GroupBy is team, system or component; Months how many months, the
	// current one last (0: the source's default).
	GroupBy string
	Months  int
	// Team and System are entity refs narrowing the report ("" for all).
	Team, System string
}

// CostReporter answers the FinOps page: the Azure plugin's cost
// attribution, for the signed-in reader.
type CostReporter func(ctx context.Context, q CostQuery) (*azure.Report, error)

// finopsRoutes registers the FinOps page and its export, the same
// report as JSON or CSV.
func (u *UI) finopsRoutes(mux web.Mux, report CostReporter) {
	mux.HandleFunc("GET /finops", func(w http.ResponseWriter, r *http.Request) { u.finops(w, r, report) })
	mux.HandleFunc("GET /api/azure/costs", func(w http.ResponseWriter, r *http.Request) { costsExport(w, r, report) })
}

// finopsSeriesMax is how many rows the overall chart stacks by name; the
// rest is one "other" band.
const finopsSeriesMax = 6

type finopsData struct {
	Query        CostQuery
	Report       *azure.Report
	Groups       []finopsOption
	MonthChoices []finopsOption
	Teams        []finopsOption
	Systems      []finopsOption
	Rows         []finopsRow
	Unattributed finopsRow
	Total        finopsRow
	Stack        stackChart
	Selected     *finopsSelected
	Export       string
	Empty        bool
}

type finopsOption struct {
	Value, Label string
	Selected     bool
}

type finopsRow struct {
	Ref, Label, Href, Select string
	ThisMonth, LastMonth     string
	Change, ChangeClass      string
	Parts                    int
	Current                  bool
}

type finopsSelected struct {
	Label     string
	Chart     *seriesChart
	Breakdown []finopsBreakdown
}

// finopsBreakdown is a system of the selected row with its components.
type finopsBreakdown struct {
	System     string
	Href       string
	Total      string
	Components []finopsRow
}

// stackChart is the months as stacked bars, one band per series.
type stackChart struct {
	Width, Height    int
	PlotTop, PlotBot int
	PlotLeft         int
	MaxLabel         string
	Bars             []stackBar
	Legend           []stackLegend
}

type stackBar struct {
	Label, LabelX string
	Rects         []stackRect
}

type stackRect struct {
	X, Y, W, H string
	Class      string
	Title      string
}

type stackLegend struct{ Label, Class string }

// costQueryOf reads the query parameters groupBy, months, team and
// system.
func costQueryOf(r *http.Request) (CostQuery, error) {
	q := r.URL.Query()
	cq := CostQuery{GroupBy: q.Get("groupBy"), Team: q.Get("team"), System: q.Get("system")}
	if cq.GroupBy == "" {
		cq.GroupBy = azure.ByTeam
	}
	if s := q.Get("months"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return cq, fault.New(fault.Invalid, "months: %q is not a number", s)
		}
		cq.Months = n
	}
	return cq, nil
}

func (u *UI) finops(w http.ResponseWriter, r *http.Request, report CostReporter) {
	q := r.URL.Query()
	cq, err := costQueryOf(r)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	rep, err := report(r.Context(), cq)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d := finopsData{Query: cq, Report: rep}
	d.Query.Months = len(rep.Months)
	for _, g := range []string{azure.ByTeam, azure.BySystem, azure.ByComponent} {
		d.Groups = append(d.Groups, finopsOption{Value: g, Label: g, Selected: g == rep.GroupBy})
	}
	choices := []int{3, 6, 12, 24}
	if n := len(rep.Months); n != 3 && n != 6 && n != 12 && n != 24 {
		choices = append(choices, n)
		sort.Ints(choices)
	}
	for _, n := range choices {
		d.MonthChoices = append(d.MonthChoices, finopsOption{Value: strconv.Itoa(n), Label: strconv.Itoa(n) + " months", Selected: n == len(rep.Months)})
	}
	d.Teams, d.Systems = finopsFilters(rep, cq)
	sel := strings.ToLower(q.Get("row"))
	base := url.Values{"groupBy": {rep.GroupBy}, "months": {strconv.Itoa(len(rep.Months))}}
	if cq.Team != "" {
		base.Set("team", cq.Team)
	}
	if cq.System != "" {
		base.Set("system", cq.System)
	}
	for _, row := range rep.Rows {
		fr := finopsRowOf(row, rep.Currency)
		v := cloneValues(base)
		v.Set("row", row.Ref)
		fr.Select = "/finops?" + v.Encode() + "#finops-selected"
		fr.Current = row.Ref == sel
		if fr.Current {
			d.Selected = finopsSelectedOf(rep, row)
		}
		d.Rows = append(d.Rows, fr)
	}
	d.Unattributed = finopsRowOf(azure.ReportRow{CostSeries: rep.Unattributed}, rep.Currency)
	d.Total = finopsRowOf(azure.ReportRow{CostSeries: rep.Total}, rep.Currency)
	d.Stack = stackOf(rep)
	d.Empty = len(rep.Rows) == 0 && rep.Total.ThisMonth == 0 && rep.Total.LastMonth == 0
	d.Export = "/api/azure/costs?" + base.Encode()
	u.page(w, r, "finops", d, View{Title: "FinOps: Azure cost", Section: "finops", Styles: []string{"finops.css"}})
}

// finopsFilters are the teams and systems the report's components belong
// to, for the filter selects.
func finopsFilters(rep *azure.Report, q CostQuery) (teams, systems []finopsOption) {
	ts, ss := map[string]bool{}, map[string]bool{}
	for _, c := range rep.Components {
		for _, o := range c.Owners {
			if strings.HasPrefix(o, "group:") {
				ts[o] = true
			}
		}
		if c.System != "" {
			ss[c.System] = true
		}
	}
	for _, r := range rep.Rows {
		switch r.Kind {
		case "group":
			ts[r.Ref] = true
		case "system":
			ss[r.Ref] = true
		}
	}
	if q.Team != "" {
		ts[strings.ToLower(q.Team)] = true
	}
	if q.System != "" {
		ss[strings.ToLower(q.System)] = true
	}
	opts := func(m map[string]bool, cur string) []finopsOption {
		var out []finopsOption
		for _, k := range sortedSet(m) {
			out = append(out, finopsOption{Value: k, Label: refLabel(k), Selected: strings.EqualFold(k, cur)})
		}
		return out
	}
	return opts(ts, q.Team), opts(ss, q.System)
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func finopsRowOf(row azure.ReportRow, currency string) finopsRow {
	fr := finopsRow{Ref: row.Ref, Label: row.Title, ThisMonth: money(row.ThisMonth, currency), LastMonth: money(row.LastMonth, currency), Parts: len(row.Components)}
	if fr.Label == "" && row.Ref != "" {
		fr.Label = refLabel(row.Ref)
	}
	if row.Ref != "" {
		fr.Href = entityHrefFromRef(row.Ref)
	}
	switch p := row.ChangePercent; {
	case p == nil && row.ThisMonth > 0:
		fr.Change, fr.ChangeClass = "new", "up"
	case p == nil:
		fr.Change = "—"
	case *p > 0:
		fr.Change, fr.ChangeClass = fmt.Sprintf("+%.1f%%", *p), "up"
	case *p < 0:
		fr.Change, fr.ChangeClass = fmt.Sprintf("%.1f%%", *p), "down"
	default:
		fr.Change = "0.0%"
	}
	return fr
}

func money(v float64, currency string) string {
	return strings.TrimSpace(strconv.FormatFloat(v, 'f', 2, 64) + " " + currency)
}

// finopsSelectedOf is the trend of a row and, for a team or system, its
// components by system.
func finopsSelectedOf(rep *azure.Report, row azure.ReportRow) *finopsSelected {
	label := row.Title
	if label == "" {
		label = refLabel(row.Ref)
	}
	ts := &plugin.TimeSeries{Label: "Monthly cost of " + label, Unit: rep.Currency}
	for i, m := range rep.Months {
		ts.Points = append(ts.Points, plugin.Point{Time: m, Value: row.Costs[i]})
	}
	s := &finopsSelected{Label: label, Chart: lineChart(ts)}
	s.Chart.FromLabel, s.Chart.ToLabel = rep.Months[0].Format("Jan 2006"), rep.Months[len(rep.Months)-1].Format("Jan 2006")
	bySystem := map[string][]azure.ReportRow{}
	for _, ref := range row.Components {
		c := rep.Components[ref]
		bySystem[c.System] = append(bySystem[c.System], c)
	}
	for _, sys := range sortedKeysOf(bySystem) {
		b := finopsBreakdown{System: "(no system)"}
		if sys != "" {
			b.System, b.Href = refLabel(sys), entityHrefFromRef(sys)
		}
		total := 0.0
		for _, c := range bySystem[sys] {
			total += c.ThisMonth
			b.Components = append(b.Components, finopsRowOf(c, rep.Currency))
		}
		b.Total = money(total, rep.Currency)
		s.Breakdown = append(s.Breakdown, b)
	}
	return s
}

func sortedKeysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

const (
	stackW    = 640
	stackH    = 230
	stackLeft = 64
	stackTop  = 10
	stackBot  = 200
)

// stackOf stacks, month by month, the largest rows, the rest as "other",
// and the unattributed cost.
func stackOf(rep *azure.Report) stackChart {
	c := stackChart{Width: stackW, Height: stackH, PlotTop: stackTop, PlotBot: stackBot, PlotLeft: stackLeft}
	n := len(rep.Months)
	if n == 0 {
		return c
	}
	type band struct {
		label, class string
		costs        []float64
	}
	var bands []band
	for i, row := range rep.Rows {
		if i >= finopsSeriesMax {
			break
		}
		label := row.Title
		if label == "" {
			label = refLabel(row.Ref)
		}
		bands = append(bands, band{label, "s" + strconv.Itoa(i), row.Costs})
	}
	if rep.GroupBy != azure.ByTeam {
		// Components (and so systems) partition the cost: what the named
		// bands and the unattributed cost leave is "other" (smaller rows,
		// components without a system).
		other := make([]float64, n)
		any := false
		for m := range n {
			other[m] = rep.Total.Costs[m] - rep.Unattributed.Costs[m]
			for _, b := range bands {
				other[m] -= b.costs[m]
			}
			if other[m] < 0.005 {
				other[m] = 0
			}
			any = any || other[m] > 0
		}
		if any {
			bands = append(bands, band{"other", "s-other", other})
		}
		bands = append(bands, band{"unattributed", "s-none", rep.Unattributed.Costs})
	}
	max := 0.0
	for m := range n {
		if rep.Total.Costs[m] > max {
			max = rep.Total.Costs[m]
		}
		sum := 0.0
		for _, b := range bands {
			sum += b.costs[m]
		}
		if sum > max {
			max = sum
		}
	}
	if max == 0 {
		max = 1
	}
	c.MaxLabel = money(max, rep.Currency)
	slot := float64(stackW-stackLeft-8) / float64(n)
	scale := float64(stackBot-stackTop) / max
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
	for m := range n {
		x := float64(stackLeft) + float64(m)*slot + slot*0.15
		bw := slot * 0.7
		bar := stackBar{Label: rep.Months[m].Format("Jan 06"), LabelX: f(x + bw/2)}
		y := float64(stackBot)
		if rep.GroupBy == azure.ByTeam {
			// The total behind, the largest teams side by side in front.
			h := rep.Total.Costs[m] * scale
			bar.Rects = append(bar.Rects, stackRect{X: f(x), Y: f(y - h), W: f(bw), H: f(h), Class: "s-total",
				Title: rep.Months[m].Format("Jan 2006") + " total: " + money(rep.Total.Costs[m], rep.Currency)})
			if len(bands) > 0 {
				sw := bw / float64(len(bands))
				for i, b := range bands {
					h := b.costs[m] * scale
					bar.Rects = append(bar.Rects, stackRect{X: f(x + float64(i)*sw), Y: f(y - h), W: f(sw), H: f(h), Class: b.class,
						Title: rep.Months[m].Format("Jan 2006") + " " + b.label + ": " + money(b.costs[m], rep.Currency)})
				}
			}
		} else {
			for _, b := range bands {
				h := b.costs[m] * scale
				y -= h
				bar.Rects = append(bar.Rects, stackRect{X: f(x), Y: f(y), W: f(bw), H: f(h), Class: b.class,
					Title: rep.Months[m].Format("Jan 2006") + " " + b.label + ": " + money(b.costs[m], rep.Currency)})
			}
		}
		c.Bars = append(c.Bars, bar)
	}
	if rep.GroupBy == azure.ByTeam {
		c.Legend = append(c.Legend, stackLegend{"total", "s-total"})
	}
	for _, b := range bands {
		c.Legend = append(c.Legend, stackLegend{b.label, b.class})
	}
	return c
}
