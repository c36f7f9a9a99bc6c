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
// and failed backups, and the backups kept on the target.
type Page struct {
	// Authorize fails unless the caller may see operations data.
	Authorize func(r *http.Request) error
	Status    func(ctx context.Context) (Status, error)
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
}

var pageTemplate = template.Must(template.New("backups").Parse(`<section class="stack" aria-label="Backups">
<p class="muted">Take one with <code>atrium backup --config FILE</code>; restore with <code>atrium restore --config FILE</code> (see docs/operations.md).</p>
<dl class="card" id="backup-settings">
<dt>Target</dt><dd>{{if .Target}}<code>{{.Target}}</code>{{else}}<span class="notice">cannot be opened: {{.TargetErr}}</span>{{end}}</dd>
<dt>Schedule</dt><dd>{{if .Schedule}}every {{.Schedule}}, keeping the newest {{.Keep}}{{else}}disabled (atrium.backup.enabled: false){{end}}</dd>
<dt>Last success</dt><dd id="backup-last-success">{{with .Status.LastSuccess}}{{.Finished.Format "2006-01-02 15:04:05 UTC"}} — <code>{{.Name}}</code>, {{.Size}} bytes ({{.Trigger}}){{else}}none yet{{end}}</dd>
<dt>Last failure</dt><dd id="backup-last-failure">{{with .Status.LastFailure}}{{.Finished.Format "2006-01-02 15:04:05 UTC"}} ({{.Trigger}}): {{.Error}}{{else}}none{{end}}</dd>
</dl>
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
	}{Target: p.Target, TargetErr: p.TargetErr, Schedule: p.Schedule, Keep: p.Keep, Status: st}
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
