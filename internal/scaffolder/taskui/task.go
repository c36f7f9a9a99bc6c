package taskui

import (
	"bytes"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/markdown"
	"github.com/atrium-portal/atrium/internal/scaffolder"
	"github.com/atrium-portal/atrium/internal/web"
	"github.com/atrium-portal/atrium/internal/web/ui"
	"github.com/atrium-portal/atrium/plugin"
)

// taskView is what templates/task.html shows.
type taskView struct {
	ID, Status    string
	TemplateTitle string
	TemplateRef   string
	TemplateHref  string
	CreatedBy     string
	CreatedByHref string
	CreatedAt     time.Time
	Duration      time.Duration
	Steps         []stepView
	Done, Total   int
	TaskLog       []logLine
	LastEventID   int64
	Truncated     bool
	Links         []linkView
	Texts         []textView
	Error         string
	Running       bool
	CanCancel     bool
	CanRetry      bool
	CSRF          string
	StreamHref    string
	Self          string
}

type stepView struct {
	ID, Name, Action, Status string
	StartedAt                *time.Time
	Duration                 time.Duration
	Error                    string
	Log                      []logLine
	// Operations are the step's long-running external work.
	Operations []plugin.Operation
}

type logLine struct {
	ID   int64
	Time time.Time
	Text string
}

type linkView struct {
	Title, Href, Kind string
}

type textView struct {
	Title   string
	Content template.HTML
}

// task serves GET /create/tasks/{id}.
func (pg *Pages) task(w http.ResponseWriter, r *http.Request) {
	t := pg.load(w, r)
	if t == nil {
		return
	}
	v, err := pg.view(r, t)
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	var buf bytes.Buffer
	if err := templates.ExecuteTemplate(&buf, "task", v); err != nil {
		web.WriteError(w, r, fault.Wrap(fault.Internal, err, "rendering the task page"))
		return
	}
	pg.p.Render.Render(w, r, ui.View{
		Title: v.TemplateTitle, Section: "create", Body: template.HTML(buf.String()), //nolint:gosec // produced by html/template
		Breadcrumbs: []ui.Crumb{{Label: "Create", Href: "/create"}, {Label: "My tasks", Href: "/create/tasks"}},
		Styles:      []string{"task-page.css"}, Scripts: []string{"task-page.js"},
	})
}

// view builds the page's model from the task and its events.
func (pg *Pages) view(r *http.Request, t *scaffolder.SerializedTask) (*taskView, error) {
	ctx := r.Context()
	now := pg.p.Now()
	v := &taskView{
		ID: t.ID, Status: t.Status, TemplateRef: t.Spec.TemplateInfo.EntityRef,
		TemplateTitle: pg.templateTitle(ctx, t.Spec.TemplateInfo.EntityRef),
		CreatedBy:     t.CreatedBy, CreatedByHref: refHref(t.CreatedBy), CreatedAt: t.CreatedAt,
		Error: t.State.Error, CSRF: web.CSRFToken(r),
		Running: t.Status == scaffolder.StatusOpen || t.Status == scaffolder.StatusProcessing,
		Self:    "/create/tasks/" + url.PathEscape(t.ID),
	}
	v.StreamHref = v.Self + "/events"
	v.TemplateHref = refHref(v.TemplateRef)
	var first, last time.Time
	index := map[string]int{}
	for _, spec := range t.Spec.Steps {
		sv := stepView{ID: spec.ID, Name: spec.Name, Action: spec.Action, Status: "pending"}
		if st := t.State.Steps[spec.ID]; st != nil {
			if st.Status != "" {
				sv.Status = st.Status
			}
			sv.Error = st.Error
			sv.StartedAt = st.StartedAt
			if st.StartedAt != nil {
				end := now
				if st.EndedAt != nil {
					end = *st.EndedAt
				}
				sv.Duration = end.Sub(*st.StartedAt)
				if first.IsZero() || st.StartedAt.Before(first) {
					first = *st.StartedAt
				}
				if end.After(last) {
					last = end
				}
			}
		}
		// Steps a cancelled task never reached say so.
		if t.Status == scaffolder.StatusCancelled && sv.Status == "pending" {
			sv.Status = scaffolder.StatusCancelled
		}
		index[spec.ID] = len(v.Steps)
		v.Steps = append(v.Steps, sv)
	}
	v.Total = len(v.Steps)
	if pg.p.Operations != nil {
		ops, err := pg.p.Operations(ctx, t.ID)
		if err != nil {
			return nil, err
		}
		// Oldest first under each step.
		for i := len(ops) - 1; i >= 0; i-- {
			if n, ok := index[ops[i].StepID]; ok {
				v.Steps[n].Operations = append(v.Steps[n].Operations, ops[i])
			}
		}
	}
	live, err := pg.logs(r, t.ID, v, index)
	if err != nil {
		return nil, err
	}
	// The runner persists a step's state when the step ends; until then
	// its events say that it runs.
	for id, ev := range live {
		sv := &v.Steps[index[id]]
		if sv.Status != "pending" || !v.Running {
			continue
		}
		sv.Status = ev.status
		if ev.status == scaffolder.StatusProcessing {
			at := ev.at
			sv.StartedAt, sv.Duration = &at, now.Sub(at)
			if first.IsZero() || at.Before(first) {
				first = at
			}
			last = now
		}
	}
	if !first.IsZero() {
		v.Duration = last.Sub(first)
	}
	// Counted after the events: a step the task's row still shows pending
	// may have completed since the row was read, and the bar must agree
	// with the steps shown.
	for _, sv := range v.Steps {
		if sv.Status == scaffolder.StatusCompleted || sv.Status == scaffolder.StatusSkipped {
			v.Done++
		}
	}
	if v.Running {
		ok, err := pg.mayOn(r, PermCancel, t)
		if err != nil {
			return nil, err
		}
		v.CanCancel = ok
	}
	if t.Status == scaffolder.StatusFailed || t.Status == scaffolder.StatusCancelled {
		ok, err := pg.mayOn(r, PermCreate, t)
		if err != nil {
			return nil, err
		}
		v.CanRetry = ok
	}
	v.Links, v.Texts = outputs(t.State.Output)
	return v, nil
}

// stepEvent is the last state a step's events gave it.
type stepEvent struct {
	status string
	at     time.Time
}

// logs reads the task's events (up to Limits.MaxEvents) into the steps'
// logs and the task's own log, and returns the last state each step's
// events gave it since the task last (re)started.
func (pg *Pages) logs(r *http.Request, id string, v *taskView, index map[string]int) (map[string]stepEvent, error) {
	var after int64
	seen := 0
	live := map[string]stepEvent{}
	for {
		evs, err := pg.p.Service.Events(r.Context(), id, after, 0)
		if err != nil {
			return nil, err
		}
		for _, ev := range evs {
			after = ev.ID
			var b scaffolder.EventBody
			_ = json.Unmarshal(ev.Body, &b)
			_, isStep := index[b.StepID]
			switch {
			case ev.Type == scaffolder.EventRecovered || (b.StepID == "" && b.Status == scaffolder.StatusOpen):
				// Resumed or retried: earlier states no longer hold.
				live = map[string]stepEvent{}
			case isStep && b.Status != "":
				live[b.StepID] = stepEvent{status: b.Status, at: ev.CreatedAt}
			}
			if seen >= pg.p.Limits.MaxEvents {
				v.Truncated = true
				continue
			}
			seen++
			line := logLine{ID: ev.ID, Time: ev.CreatedAt, Text: b.Message}
			if i, ok := index[b.StepID]; ok && b.StepID != "" {
				v.Steps[i].Log = append(v.Steps[i].Log, line)
			} else {
				v.TaskLog = append(v.TaskLog, line)
			}
		}
		if len(evs) < 1000 {
			break
		}
	}
	v.LastEventID = after
	return live, nil
}

// outputs reads Backstage's output.links and output.text. Links to
// entities go to the entity's portal page; URLs other than http(s) are
// left out.
func outputs(out map[string]any) ([]linkView, []textView) {
	var links []linkView
	var texts []textView
	list := func(k string) []map[string]any {
		raw, _ := out[k].([]any)
		var items []map[string]any
		for _, x := range raw {
			if m, ok := x.(map[string]any); ok {
				items = append(items, m)
			}
		}
		return items
	}
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	for _, l := range list("links") {
		lv := linkView{Title: str(l, "title")}
		if ref := str(l, "entityRef"); ref != "" {
			lv.Href, lv.Kind = refHref(ref), "entity"
			if lv.Title == "" {
				lv.Title = "Open in catalog"
			}
		} else if u := str(l, "url"); safeURL(u) {
			lv.Href, lv.Kind = u, "url"
			if lv.Title == "" {
				lv.Title = u
			}
		}
		if lv.Href != "" {
			links = append(links, lv)
		}
	}
	for _, x := range list("text") {
		texts = append(texts, textView{Title: str(x, "title"), Content: markdown.HTML(str(x, "content"))})
	}
	return links, texts
}

func safeURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// refHref is the portal page of the entity a ref names ("" when it is not
// an entity ref).
func refHref(ref string) string {
	r, err := catalog.ParseRef(ref, catalog.RefDefaults{})
	if err != nil || r.Kind == "" || r.Name == "" {
		return ""
	}
	ns := r.Namespace
	if ns == "" {
		ns = catalog.DefaultNamespace
	}
	return "/catalog/" + url.PathEscape(strings.ToLower(ns)) + "/" + url.PathEscape(strings.ToLower(r.Kind)) + "/" + url.PathEscape(r.Name)
}
