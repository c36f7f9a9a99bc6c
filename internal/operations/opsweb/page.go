package opsweb

import (
	"bytes"
	"html/template"
	"net/http"
	"net/url"
	"strconv"

	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/web"
	"github.com/atrium-portal/atrium/plugin"
)

// Page serves GET /operations: the operations with state badges, system,
// attempts, last error and links to their task and the external system.
type Page struct {
	API *API
	// Breakers returns the circuit breakers of the external systems (nil:
	// none shown).
	Breakers func() []BreakerState
	// Render puts the body into the portal's layout.
	Render func(w http.ResponseWriter, r *http.Request, title string, body template.HTML)
}

// BreakerState is one external system's circuit breaker as shown.
type BreakerState struct {
	System   string
	Open     bool
	Failures int
}

// Register adds the page's route.
func (p *Page) Register(mux web.Mux) {
	mux.HandleFunc("GET /operations", p.serve)
}

// StateClass is the badge colour of a state.
func StateClass(s plugin.OperationState) string {
	switch s {
	case plugin.OperationSucceeded:
		return "ok"
	case plugin.OperationFailed:
		return "err"
	case plugin.OperationRunning:
		return "info"
	case plugin.OperationWaitingRetry, plugin.OperationCancelled:
		return "warn"
	}
	return ""
}

var pageTemplate = template.Must(template.New("operations").Funcs(template.FuncMap{"stateClass": StateClass}).Parse(`<section class="stack" aria-label="Operations">
<p class="muted">Long-running work in external systems — merge requests, jobs, runs, deployments, operator installs. Each is kept in the database with its resume token, so any replica follows it after a restart.</p>
<form method="get" action="/operations" class="filters" id="operation-filters">
<label>State <select name="state"><option value="">any</option>{{range .States}}<option value="{{.}}"{{if eq . $.State}} selected{{end}}>{{.}}</option>{{end}}</select></label>
<label>System <input name="system" value="{{.Params.System}}" placeholder="awx:demo"></label>
<label>Task <input name="task" value="{{.Params.TaskID}}"></label>
<button type="submit">Filter</button>
</form>
{{if .Breakers}}<div class="table-wrap card"><table class="list" id="breakers"><caption>Circuit breakers</caption>
<thead><tr><th scope="col">System</th><th scope="col">State</th><th scope="col">Failures in a row</th></tr></thead>
<tbody>{{range .Breakers}}<tr><td><code>{{.System}}</code></td><td>{{if .Open}}<span class="badge err">open</span>{{else}}<span class="badge ok">closed</span>{{end}}</td><td>{{.Failures}}</td></tr>{{end}}</tbody>
</table></div>{{end}}
{{if .Ops}}<div class="table-wrap card"><table class="list" id="operations">
<thead><tr><th scope="col">State</th><th scope="col">Kind</th><th scope="col">System</th><th scope="col">Attempts</th><th scope="col">Last error</th><th scope="col">Task</th><th scope="col">External</th><th scope="col">Updated</th></tr></thead>
<tbody>{{range .Ops}}<tr data-operation="{{.ID}}"><td><span class="badge op-state {{stateClass .State}}">{{.State}}</span>{{if .CancelRequested}} <span class="badge warn">cancel requested</span>{{end}}</td>
<td>{{.Kind}}</td><td><code>{{.System}}</code></td><td>{{.Attempts}}</td>
<td class="op-error">{{with .LastError}}{{.System}} answered: {{.Answer}}{{if .Action}} — {{.Action}}{{end}}{{end}}</td>
<td>{{if .TaskID}}<a href="/create/tasks/{{.TaskID}}">{{.TaskID}}</a>{{if .StepID}} ({{.StepID}}){{end}}{{end}}</td>
<td>{{if .ExternalURL}}<a href="{{.ExternalURL}}" rel="noopener">{{or .ExternalID "open"}}</a>{{else}}{{.ExternalID}}{{end}}</td>
<td>{{.UpdatedAt.Format "2006-01-02 15:04:05 UTC"}}</td></tr>{{end}}</tbody>
</table></div>
<p class="muted">{{.Total}} operations{{if .Next}} · <a href="{{.Next}}" rel="next">next page</a>{{end}}</p>{{else}}<p class="muted">No operations match.</p>{{end}}
</section>`))

func (p *Page) serve(w http.ResponseWriter, r *http.Request) {
	params, err := listParams(r, p.API.MaxPageSize)
	if err == nil {
		err = p.API.authorizeList(r, params)
	}
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	ops, total, err := p.API.Service.List(r.Context(), params)
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	data := struct {
		Params   store.OperationListParams
		State    string
		States   []string
		Ops      []plugin.Operation
		Total    int
		Next     string
		Breakers []BreakerState
	}{Params: params, States: store.OperationStates, Ops: ops, Total: total}
	if len(params.State) > 0 {
		data.State = params.State[0]
	}
	if end := params.Offset + len(ops); end < total {
		q := url.Values{}
		for k, v := range r.URL.Query() {
			q[k] = v
		}
		q.Set("offset", strconv.Itoa(end))
		data.Next = "/operations?" + q.Encode()
	}
	if p.Breakers != nil {
		data.Breakers = p.Breakers()
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, data); err != nil {
		web.WriteError(w, r, err)
		return
	}
	p.Render(w, r, "Operations", template.HTML(buf.String()))
}
