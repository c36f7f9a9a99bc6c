package audit

import (
	"bytes"
	"context"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/web"
)

// PageView is what the audit page asks the portal's layout to render.
type PageView struct {
	Title  string
	Body   template.HTML
	Status int
}

// Page serves GET /settings/audit: the audit log with filters, paging and
// a chart of the last 24 hours' events per hour by outcome.
type Page struct {
	Log        *Log
	Authorizer Authorizer
	// Render puts the body into the portal's layout.
	Render func(w http.ResponseWriter, r *http.Request, v PageView)
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Register adds the page's route.
func (p *Page) Register(mux web.Mux) {
	mux.HandleFunc("GET /settings/audit", p.serve)
}

var pageTemplate = template.Must(template.New("audit").Parse(`<section class="stack" aria-label="Audit log">
<p class="muted">Every state change and every refused request, in a hash chain that <code>atrium audit verify</code> checks. The chain holds {{.Head}} records{{if .Pruned}}; {{.Pruned}} older ones were pruned behind a checkpoint{{end}}.</p>
<figure class="card" aria-label="Events per hour, last 24 hours">
<figcaption class="muted">Events per hour, last 24 hours</figcaption>
<svg role="img" aria-label="{{.Chart.Label}}" viewBox="0 0 {{.Chart.Width}} {{.Chart.Height}}" width="100%" height="{{.Chart.Height}}">
{{range .Chart.Bars}}<rect x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}" fill="{{.Fill}}"><title>{{.Title}}</title></rect>
{{end}}{{range .Chart.Ticks}}<text x="{{.X}}" y="{{$.Chart.TickY}}" font-size="10" fill="currentColor">{{.Label}}</text>
{{end}}</svg>
<p class="muted">{{range .Chart.Legend}}<svg width="10" height="10" aria-hidden="true"><rect width="10" height="10" fill="{{.Fill}}"/></svg> {{.Outcome}} {{.Count}} &nbsp; {{end}}</p>
</figure>
<form class="toolbar" action="/settings/audit" method="get" aria-label="Filters">
<label for="a-actor">Actor</label><input id="a-actor" name="actor" value="{{.Q.Actor}}" placeholder="user:default/jane">
<label for="a-action">Action</label><input id="a-action" name="action" value="{{.Q.Action}}" placeholder="POST /api/catalog/locations">
<label for="a-resource">Resource</label><input id="a-resource" name="resource" value="{{.Q.Resource}}" placeholder="/api/catalog/">
<label for="a-outcome">Outcome</label><select id="a-outcome" name="outcome"><option value="">any</option>{{range .Outcomes}}<option value="{{.}}"{{if eq . $.Q.Outcome}} selected{{end}}>{{.}}</option>{{end}}</select>
<label for="a-from">From</label><input id="a-from" name="from" value="{{.From}}" placeholder="2026-03-01T00:00:00Z">
<label for="a-to">To</label><input id="a-to" name="to" value="{{.To}}" placeholder="2026-03-02T00:00:00Z">
<button class="button subtle" type="submit">Filter</button>
<a class="button subtle" href="{{.ExportHref}}">Export JSON Lines</a>
</form>
{{if .Items}}<div class="table-wrap card"><table class="list cards" id="audit-events">
<thead><tr><th scope="col">#</th><th scope="col">Time (UTC)</th><th scope="col">Actor</th><th scope="col">Action</th><th scope="col">Resource</th><th scope="col">Outcome</th><th scope="col">Status</th><th scope="col">IP</th><th scope="col">Request</th></tr></thead>
<tbody>{{range .Items}}<tr data-outcome="{{.Outcome}}"><td>{{.Seq}}</td><td><time datetime="{{.Time.Format "2006-01-02T15:04:05Z07:00"}}">{{.Time.Format "2006-01-02 15:04:05"}}</time></td><td>{{.Actor.Ref}}{{if .Actor.Via}} <span class="muted">({{.Actor.Via}})</span>{{end}}</td><td><code>{{.Action}}</code></td><td>{{.Resource}}</td><td>{{.Outcome}}</td><td>{{if .Status}}{{.Status}}{{end}}</td><td>{{.IP}}</td><td><code>{{.RequestID}}</code></td></tr>
{{end}}</tbody></table></div>
{{if .NextHref}}<nav class="pager" aria-label="Pages"><span></span><a class="button subtle" href="{{.NextHref}}" rel="next">Older →</a></nav>{{end}}
{{else}}<div class="card empty"><p><strong>No audit records match.</strong></p></div>{{end}}
</section>`))

type pageData struct {
	Q                    Query
	From, To             string
	Items                []Entry
	NextHref, ExportHref string
	Outcomes             []Outcome
	Head, Pruned         int64
	Chart                hourChart
}

func (p *Page) serve(w http.ResponseWriter, r *http.Request) {
	ok, err := p.Authorizer.Authorize(r.Context(), PermissionRead)
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	if !ok {
		web.WriteError(w, r, fault.New(fault.Forbidden, "reading the audit log needs the %s permission", PermissionRead))
		return
	}
	vals := r.URL.Query()
	q, err := ParseQuery(vals, 200)
	if err != nil {
		p.render(w, r, http.StatusBadRequest, template.HTML(`<div class="alert error" role="alert">`+template.HTMLEscapeString(err.Error())+`</div>`))
		return
	}
	page, err := p.Log.List(r.Context(), q)
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	head, err := p.Log.p.Store.AuditHead(r.Context())
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	chart, err := p.chart(r.Context())
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	d := pageData{Q: q, From: vals.Get("from"), To: vals.Get("to"), Items: page.Items,
		Outcomes: []Outcome{Succeeded, Failed, Denied, Allowed}, Head: head.Seq, Chart: chart}
	if head.Checkpoint != nil {
		d.Pruned = head.Checkpoint.Count
	}
	export := url.Values{}
	for _, k := range []string{"actor", "action", "resource", "outcome", "from", "to"} {
		if v := vals.Get(k); v != "" {
			export.Set(k, v)
		}
	}
	d.ExportHref = "/api/audit/export?" + export.Encode()
	if page.NextCursor != "" {
		next := url.Values{}
		for k, v := range vals {
			next[k] = v
		}
		next.Set("cursor", page.NextCursor)
		d.NextHref = "/settings/audit?" + next.Encode()
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, d); err != nil {
		web.WriteError(w, r, fault.Wrap(fault.Internal, err, "rendering the audit page"))
		return
	}
	p.render(w, r, http.StatusOK, template.HTML(buf.String()))
}

func (p *Page) render(w http.ResponseWriter, r *http.Request, status int, body template.HTML) {
	p.Render(w, r, PageView{Title: "Audit log", Body: body, Status: status})
}

// hourChart is a stacked bar chart of events per hour and outcome.
type hourChart struct {
	Width, Height, TickY int
	Label                string
	Bars                 []chartBar
	Ticks                []chartTick
	Legend               []legendItem
}

type chartBar struct {
	X, Y, W, H  int
	Fill, Title string
}

type chartTick struct {
	X     int
	Label string
}

type legendItem struct {
	Outcome Outcome
	Fill    string
	Count   int
}

var outcomeFill = map[Outcome]string{Succeeded: "#2f855a", Failed: "#c05621", Denied: "#c53030", Allowed: "#2b6cb0"}

func (p *Page) chart(ctx context.Context) (hourChart, error) {
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	end := now().UTC().Truncate(time.Hour).Add(time.Hour)
	start := end.Add(-24 * time.Hour)
	counts, err := p.Log.p.Store.AuditCountByHour(ctx, start, end)
	if err != nil {
		return hourChart{}, err
	}
	return buildChart(start, counts), nil
}

// buildChart lays out 24 hourly stacks (oldest left); the geometry is
// computed here so the template stays declarative.
func buildChart(start time.Time, counts []store.AuditHourCount) hourChart {
	const hours, barW, gap, plotH, top = 24, 20, 4, 100, 4
	c := hourChart{Width: hours * (barW + gap), Height: top + plotH + 16, TickY: top + plotH + 12}
	perHour := make([]map[Outcome]int, hours)
	totals := map[Outcome]int{}
	maxTotal, all := 0, 0
	for _, hc := range counts {
		i := int(hc.Hour.Sub(start) / time.Hour)
		if i < 0 || i >= hours {
			continue
		}
		if perHour[i] == nil {
			perHour[i] = map[Outcome]int{}
		}
		perHour[i][Outcome(hc.Outcome)] += hc.Count
		totals[Outcome(hc.Outcome)] += hc.Count
		all += hc.Count
	}
	for _, m := range perHour {
		t := 0
		for _, n := range m {
			t += n
		}
		maxTotal = max(maxTotal, t)
	}
	order := []Outcome{Succeeded, Allowed, Failed, Denied}
	for i := 0; i < hours; i++ {
		x := i * (barW + gap)
		y := top + plotH
		hour := start.Add(time.Duration(i) * time.Hour)
		for _, o := range order {
			n := perHour[i][o]
			if n == 0 || maxTotal == 0 {
				continue
			}
			h := max(1, n*plotH/maxTotal)
			y -= h
			c.Bars = append(c.Bars, chartBar{X: x, Y: y, W: barW, H: h, Fill: outcomeFill[o],
				Title: hour.Format("15:04") + " UTC: " + itoa(n) + " " + string(o)})
		}
		if i%6 == 0 {
			c.Ticks = append(c.Ticks, chartTick{X: x, Label: hour.Format("15:04")})
		}
	}
	for _, o := range order {
		c.Legend = append(c.Legend, legendItem{Outcome: o, Fill: outcomeFill[o], Count: totals[o]})
	}
	c.Label = itoa(all) + " events in the last 24 hours"
	return c
}

func itoa(n int) string { return strconv.Itoa(n) }
