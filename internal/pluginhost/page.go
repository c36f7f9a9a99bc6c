package pluginhost

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"time"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/web"
)

// PageView is what the plugins page asks the portal's layout to render.
type PageView struct {
	Title  string
	Body   template.HTML
	Status int
}

// Page serves GET /settings/plugins: every plugin's health (state,
// uptime, restarts, memory against its budget, calls, latency, error
// rate, last error) and the registry's compatibility matrix.
type Page struct {
	Host       *Host
	Authorizer Authorizer
	// Render puts the body into the portal's layout.
	Render func(w http.ResponseWriter, r *http.Request, v PageView)
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Register adds the page's route.
func (p *Page) Register(mux web.Mux) {
	mux.HandleFunc("GET /settings/plugins", p.serve)
	mux.HandleFunc("POST /settings/plugins/{id}/restart", p.restart)
}

var pageFuncs = template.FuncMap{
	"bytes":    formatBytes,
	"uptime":   formatUptime,
	"percent":  func(f float64) string { return fmt.Sprintf("%.1f%%", f*100) },
	"ms":       func(f float64) string { return fmt.Sprintf("%.1f ms", f) },
	"date":     func(t time.Time) string { return t.UTC().Format(time.DateOnly) },
	"badge":    stateBadge,
	"sub":      func(a, b int) int { return a - b },
	"highMark": func(limit int64) int64 { return limit * 8 / 10 },
}

var pageTemplate = template.Must(template.New("plugins").Funcs(pageFuncs).Parse(`<section class="stack" aria-label="Plugins">
{{if .Flash}}<div class="alert {{.FlashClass}}" role="status">{{.Flash}}</div>{{end}}
<p class="muted">This Atrium speaks plugin API <strong>{{.APIVersion}}</strong> on {{.Platform}}. External plugins are installed with <code>atrium plugin install</code> and run as separate processes; built-ins run inside Atrium. States and counters refresh when the page is reloaded.</p>
{{if .Plugins}}<div class="table-wrap card"><table class="list cards" id="plugins">
<thead><tr><th scope="col">Plugin</th><th scope="col">State</th><th scope="col">Uptime</th><th scope="col">Restarts</th><th scope="col">Memory</th><th scope="col">Calls</th><th scope="col">Latency (avg / p95)</th><th scope="col">Error rate</th><th scope="col">Last error</th></tr></thead>
<tbody>{{range .Plugins}}<tr id="plugin-{{.ID}}" data-state="{{.State}}" data-kind="{{.Kind}}">
<td class="primary"><strong>{{.ID}}</strong> {{.Version}} <span class="badge">{{.Kind}}</span>{{if and (eq .Kind "external") (not .Wired) (eq .State "running" "degraded")}} <span class="badge warn not-wired" title="its actions, providers, processors, cards and event subscribers are not in use{{with .WireError}}: {{.}}{{end}}">not wired</span>{{else if .WireError}} <span class="badge warn wire-error" title="{{.WireError}}">partly wired</span>{{end}}{{if .Description}}<br><span class="muted">{{.Description}}</span>{{end}}</td>
<td data-label="State"><span class="badge {{badge .State}}">{{.State}}</span>{{if and .Breaker (ne (print .Breaker) "closed")}} <span class="badge err" title="restart circuit breaker">breaker {{.Breaker}}</span>{{end}}{{if .NextRestart}}<br><span class="muted">next start {{.NextRestart.Format "15:04:05"}} UTC</span>{{end}}</td>
<td data-label="Uptime">{{if .StartedAt}}{{uptime .UptimeSeconds}}{{else}}—{{end}}</td>
<td data-label="Restarts">{{.Restarts}}</td>
<td data-label="Memory">{{if eq .Kind "external"}}{{if .MemoryLimit}}<meter min="0" max="{{.MemoryLimit}}" low="{{highMark .MemoryLimit}}" high="{{highMark .MemoryLimit}}" optimum="0" value="{{.RSSBytes}}" title="{{bytes .RSSBytes}} of {{bytes .MemoryLimit}}">{{bytes .RSSBytes}}</meter><br>{{end}}<span class="muted">{{bytes .RSSBytes}} / {{bytes .MemoryLimit}}</span>{{else}}<span class="muted">in process</span>{{end}}</td>
<td data-label="Calls">{{.Calls}}</td>
<td data-label="Latency (avg / p95)">{{if .Calls}}{{ms .LatencyAvgMs}} / {{ms .LatencyP95Ms}}{{else}}—{{end}}</td>
<td data-label="Error rate">{{if .Calls}}{{percent .ErrorRate}}{{else}}—{{end}}</td>
<td data-label="Last error">{{if .LastError}}{{.LastError}}{{if .LastErrorAt}}<br><span class="muted">{{.LastErrorAt.Format "2006-01-02 15:04:05"}} UTC</span>{{end}}{{else}}—{{end}}{{if and $.CanManage (eq .Kind "external") (ne (print .State) "disabled")}}
<form method="post" action="/settings/plugins/{{.ID}}/restart"><input type="hidden" name="csrf_token" value="{{$.CSRF}}"><button class="button subtle" type="submit" aria-label="Restart {{.ID}}">Restart</button></form>{{end}}</td>
</tr>{{end}}</tbody></table></div>
{{else}}<div class="card empty"><p><strong>No plugins are in use.</strong> Install one with <code>atrium plugin install ID</code>.</p></div>{{end}}
<h2>Registry</h2>
{{if .Registry.Error}}<div class="alert warn" role="status">{{.Registry.Error}}</div>{{end}}
{{if .Registry.Source}}<p class="muted">From <code>{{.Registry.Source}}</code>. Plugins without a release for {{.Unmaintained}} are flagged as possibly unmaintained.</p>{{end}}
{{range .Registry.Plugins}}{{$p := .}}<article class="card" id="registry-{{.ID}}" aria-label="{{.ID}}">
<h3>{{.ID}} {{if .Installed}}<span class="badge ok">installed {{.Installed}}</span>{{end}}{{if .Unmaintained}} <span class="badge warn unmaintained">possibly unmaintained</span>{{end}}</h3>
{{if .Description}}<p>{{.Description}}</p>{{end}}
<p class="muted">{{if .Maintainer}}Maintainer {{.Maintainer}} · {{end}}{{if .Licence}}Licence {{.Licence}} · {{end}}Last release {{date .LastRelease}}{{if .Compatible}} · newest compatible {{.Compatible}}{{else}} · <strong>no version works with this Atrium</strong>{{end}}{{if .Homepage}} · <a href="{{.Homepage}}" rel="noopener">homepage</a>{{end}}</p>
<div class="table-wrap"><table class="list matrix">
<thead><tr><th scope="col">Version</th><th scope="col">Released</th><th scope="col">Plugin API</th>{{range $i, $v := .Matrix.APIVersions}}<th scope="col">API {{$v}}{{if eq $i $p.Matrix.Current}} (this Atrium){{end}}</th>{{end}}<th scope="col">Build for {{$.Platform}}</th></tr></thead>
<tbody>{{range .Matrix.Rows}}<tr data-version="{{.Version}}"><td>{{.Version}}</td><td>{{date .ReleasedAt}}</td><td><code>{{.APIVersions}}</code></td>{{range .Supported}}<td>{{if .}}<span class="badge ok">yes</span>{{else}}<span class="badge err">no</span>{{end}}</td>{{end}}<td>{{if .Platform}}<span class="badge ok">yes</span>{{else}}<span class="badge err">no</span>{{end}}</td></tr>{{end}}</tbody>
</table></div>
</article>{{end}}
</section>`))

type pageData struct {
	Overview
	Unmaintained string
	// CanManage shows the restart buttons; CSRF is the forms' token.
	CanManage bool
	CSRF      string
	// Flash says how a restart went.
	Flash, FlashClass string
}

func (p *Page) serve(w http.ResponseWriter, r *http.Request) {
	ok, err := p.Authorizer.Authorize(r.Context(), PermissionRead)
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	if !ok {
		web.WriteError(w, r, fault.New(fault.Forbidden, "the plugins page needs the %s permission", PermissionRead))
		return
	}
	now := time.Now()
	if p.Now != nil {
		now = p.Now()
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	d := pageData{Overview: p.Host.Overview(ctx, now), Unmaintained: formatUptime(p.Host.o.UnmaintainedAfter.Seconds()), CSRF: web.CSRFToken(r)}
	d.CanManage, _ = p.Authorizer.Authorize(r.Context(), PermissionManage)
	switch id := r.URL.Query().Get("restarted"); {
	case id != "":
		d.Flash, d.FlashClass = "Plugin "+id+" restarted.", "info"
	case r.URL.Query().Get("failed") != "":
		d.Flash, d.FlashClass = "Plugin "+r.URL.Query().Get("failed")+" did not start; see its last error.", "err"
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, d); err != nil {
		web.WriteError(w, r, fault.Wrap(fault.Internal, err, "rendering the plugins page"))
		return
	}
	p.Render(w, r, PageView{Title: "Plugins", Body: template.HTML(buf.String()), Status: http.StatusOK})
}

// restart is the page's Restart button: a fresh process now (and the
// circuit breaker reset), then back to the page.
func (p *Page) restart(w http.ResponseWriter, r *http.Request) {
	ok, err := p.Authorizer.Authorize(r.Context(), PermissionManage)
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	if !ok {
		web.WriteError(w, r, fault.New(fault.Forbidden, "restarting a plugin needs the %s permission", PermissionManage))
		return
	}
	id := r.PathValue("id")
	s, found := p.Host.Plugin(id)
	if !found {
		web.WriteError(w, r, fault.New(fault.NotFound, "no external plugin %q is installed", id))
		return
	}
	if s.Stats().State == StateDisabled {
		web.WriteError(w, r, fault.New(fault.Conflict, "plugin %s is disabled by atrium.pluginHost.plugins.%s.disabled", id, id))
		return
	}
	q := url.Values{}
	if err := auditedRestart(r.Context(), s); err != nil {
		q.Set("failed", id)
	} else {
		q.Set("restarted", id)
	}
	http.Redirect(w, r, "/settings/plugins?"+q.Encode(), http.StatusSeeOther)
}

// stateBadge is the badge class (colour) of a state.
func stateBadge(s State) string {
	switch s {
	case StateRunning:
		return "ok"
	case StateStarting, StateDegraded:
		return "warn"
	case StateCrashed:
		return "err"
	}
	return ""
}

func formatUptime(sec float64) string {
	d := time.Duration(sec * float64(time.Second))
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%d days", int(d.Hours()/24))
	case d >= time.Hour:
		return fmt.Sprintf("%dh %dm", int(d.Hours()), int(d.Minutes())%60)
	case d >= time.Minute:
		return fmt.Sprintf("%dm %ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%ds", int(d.Seconds()))
}
