package backup

import (
	"bytes"
	"context"
	"html/template"
	"net/http"
	"time"

	"github.com/atrium-portal/atrium/internal/web"
)

// Page serves GET /settings/backups: the schedule, the last successful
// and failed backups, the history of runs, the backups kept on the target,
// and a "Back up now" button (POST /settings/backups).
type Page struct {
	// Authorize fails unless the caller may see operations data;
	// AuthorizeStart unless the caller may start a backup.
	Authorize      func(r *http.Request) error
	AuthorizeStart func(r *http.Request) error
	Status         func(ctx context.Context) (Status, error)
	// Runs returns the newest runs; Start queues a backup now.
	Runs  func(ctx context.Context, limit int) ([]Run, error)
	Start func(ctx context.Context) (Run, error)
	// Target is the configured target (nil when it cannot be opened, with
	// TargetErr saying why).
	Target    Target
	TargetErr error
	// Schedule is the interval between scheduled backups; 0 when disabled.
	Schedule time.Duration
	Keep     int
	// Render puts the body into the portal's layout.
	Render func(w http.ResponseWriter, r *http.Request, title string, body template.HTML)
}

// Register adds the page's route.
func (p *Page) Register(mux web.Mux) {
	mux.HandleFunc("GET /settings/backups", p.serve)
	mux.HandleFunc("POST /settings/backups", p.start)
}

// pageRuns is how many runs the page lists.
const pageRuns = 20

// start queues a backup and shows the page again, where the run appears.
func (p *Page) start(w http.ResponseWriter, r *http.Request) {
	if err := p.AuthorizeStart(r); err != nil {
		web.WriteError(w, r, err)
		return
	}
	if _, err := p.Start(r.Context()); err != nil {
		web.WriteError(w, r, err)
		return
	}
	http.Redirect(w, r, "/settings/backups", http.StatusSeeOther)
}

var pageTemplate = template.Must(template.New("backups").Parse(`<section class="stack" aria-label="Backups">
<p class="muted">Take one with <code>atrium backup --config FILE</code> or the button below (<code>POST /api/atrium/backups</code>); restore with <code>atrium restore --config FILE</code> (see docs/operations.md).</p>
{{if .CanStart}}<form method="post" action="/settings/backups" id="backup-now"><input type="hidden" name="csrf_token" value="{{.CSRF}}"><button class="button" type="submit"{{if .Running}} disabled title="a backup is running"{{end}}>Back up now</button></form>{{end}}
<dl class="card" id="backup-settings">
<dt>Target</dt><dd>{{if .Target}}<code>{{.Target}}</code>{{else}}<span class="notice">cannot be opened: {{.TargetErr}}</span>{{end}}</dd>
<dt>Schedule</dt><dd>{{if .Schedule}}every {{.Schedule}}, keeping the newest {{.Keep}}{{else}}disabled (atrium.backup.enabled: false){{end}}</dd>
<dt>Last success</dt><dd id="backup-last-success">{{with .Status.LastSuccess}}{{.Finished.Format "2006-01-02 15:04:05 UTC"}} — <code>{{.Name}}</code>, {{.Size}} bytes ({{.Trigger}}){{else}}none yet{{end}}</dd>
<dt>Last failure</dt><dd id="backup-last-failure">{{with .Status.LastFailure}}{{.Finished.Format "2006-01-02 15:04:05 UTC"}} ({{.Trigger}}): {{.Error}}{{else}}none{{end}}</dd>
</dl>
{{if .Runs}}<h2>History</h2><div class="table-wrap card"><table class="list" id="backup-runs">
<thead><tr><th scope="col">Run</th><th scope="col">Started</th><th scope="col">Kind</th><th scope="col">Trigger</th><th scope="col">State</th><th scope="col">Duration</th><th scope="col">Bytes</th><th scope="col">Destination</th><th scope="col">Error</th></tr></thead>
<tbody>{{range .Runs}}<tr data-state="{{.State}}"><td>{{.ID}}</td><td>{{.Started.Format "2006-01-02 15:04:05 UTC"}}</td><td>{{.Kind}}</td><td>{{.Trigger}}</td><td>{{.State}}</td><td>{{.Duration}}</td><td>{{.Size}}</td><td><code>{{.Target}}</code>{{with .Name}} <code>{{.}}</code>{{end}}</td><td>{{.Error}}</td></tr>{{end}}</tbody>
</table></div>{{end}}
{{if .RunsErr}}<p class="notice">Reading the history failed: {{.RunsErr}}</p>{{end}}
<h2>On the target</h2>
{{if .ListErr}}<p class="notice">Listing the target failed: {{.ListErr}}</p>{{end}}
{{if .Backups}}<div class="table-wrap card"><table class="list" id="backups">
<thead><tr><th scope="col">Backup</th><th scope="col">Bytes</th></tr></thead>
<tbody>{{range .Backups}}<tr><td><code>{{.Name}}</code></td><td>{{.Size}}</td></tr>{{end}}</tbody>
</table></div>{{else if not .ListErr}}<p class="muted">No backups on the target yet.</p>{{end}}
</section>`))

func (p *Page) serve(w http.ResponseWriter, r *http.Request) {
	if err := p.Authorize(r); err != nil {
		web.WriteError(w, r, err)
		return
	}
	st, err := p.Status(r.Context())
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	data := struct {
		Target    Target
		TargetErr error
		Schedule  time.Duration
		Keep      int
		Status    Status
		Backups   []Info
		ListErr   error
		Runs      []Run
		RunsErr   error
		Running   bool
		CanStart  bool
		CSRF      string
	}{Target: p.Target, TargetErr: p.TargetErr, Schedule: p.Schedule, Keep: p.Keep, Status: st,
		CanStart: p.Start != nil && p.AuthorizeStart != nil && p.AuthorizeStart(r) == nil, CSRF: web.CSRFToken(r)}
	if p.Runs != nil {
		data.Runs, data.RunsErr = p.Runs(r.Context(), pageRuns)
		for _, run := range data.Runs {
			data.Running = data.Running || (run.Kind == "backup" && run.State == StateRunning)
		}
	}
	if p.Target != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		data.Backups, data.ListErr = p.Target.List(ctx)
		cancel()
		newestFirst(data.Backups)
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, data); err != nil {
		web.WriteError(w, r, err)
		return
	}
	p.Render(w, r, "Backups", template.HTML(buf.String()))
}
