package taskui

import (
	"bytes"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/scaffolder"
	"github.com/atrium-portal/atrium/internal/web"
	"github.com/atrium-portal/atrium/internal/web/ui"
)

// listStatuses are the statuses "My tasks" filters by.
var listStatuses = []string{scaffolder.StatusOpen, scaffolder.StatusProcessing, scaffolder.StatusCompleted, scaffolder.StatusFailed, scaffolder.StatusCancelled}

type listView struct {
	All, CanAll  bool
	Status       string
	Statuses     []string
	Rows         []rowView
	Total        int
	From, To     int
	PrevHref     string
	NextHref     string
	AllHref      string
	MineHref     string
	Limit        int
	DefaultLimit int
}

type rowView struct {
	ID, Href, Status      string
	Template, TemplateRef string
	CreatedBy             string
	CreatedAt             time.Time
	Duration              time.Duration
}

// list serves GET /create/tasks: the caller's tasks, newest first; with
// ?all=1, everyone's, for holders of scaffolder.task.read. ?status=
// filters, ?page= and ?limit= page.
func (pg *Pages) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := listView{Statuses: listStatuses, Limit: pg.p.Limits.PageSize, DefaultLimit: pg.p.Limits.PageSize}
	canAll, err := pg.allowed(r, PermRead)
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	v.CanAll = canAll
	v.All = q.Get("all") == "1"
	if v.All && !canAll {
		web.WriteError(w, r, fault.New(fault.Forbidden, "listing everyone's tasks (all=1) needs the %s permission; without it you see your own tasks", PermRead))
		return
	}
	p := pg.principal(r)
	if !v.All && (p == nil || p.Ref == "") {
		web.WriteError(w, r, fault.New(fault.Unauthorized, "sign in to see your tasks"))
		return
	}
	lp := scaffolder.ListParams{Limit: v.Limit}
	if !v.All {
		lp.CreatedBy = []string{p.Ref}
	}
	if s := q.Get("status"); s != "" {
		if !validStatus(s) {
			web.WriteError(w, r, fault.New(fault.Invalid, "status must be one of open, processing, completed, failed, cancelled; got %q", s))
			return
		}
		v.Status = s
		lp.Status = []string{s}
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > pg.p.Limits.MaxPageSize {
			web.WriteError(w, r, fault.New(fault.Invalid, "limit must be an integer from 1 to %d, got %q", pg.p.Limits.MaxPageSize, s))
			return
		}
		v.Limit, lp.Limit = n, n
	}
	page := 1
	if s := q.Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1_000_000 {
			web.WriteError(w, r, fault.New(fault.Invalid, "page must be a positive integer, got %q", s))
			return
		}
		page = n
	}
	lp.Offset = (page - 1) * lp.Limit
	tasks, total, err := pg.p.Service.List(r.Context(), lp)
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	v.Total = total
	titles := map[string]string{}
	now := pg.p.Now()
	for _, t := range tasks {
		ref := t.Spec.TemplateInfo.EntityRef
		title, ok := titles[ref]
		if !ok {
			title = pg.templateTitle(r.Context(), ref)
			titles[ref] = title
		}
		v.Rows = append(v.Rows, rowView{
			ID: t.ID, Href: "/create/tasks/" + url.PathEscape(t.ID), Status: t.Status,
			Template: title, TemplateRef: ref, CreatedBy: t.CreatedBy, CreatedAt: t.CreatedAt,
			Duration: taskDuration(t, now),
		})
	}
	if len(v.Rows) > 0 {
		v.From, v.To = lp.Offset+1, lp.Offset+len(v.Rows)
	}
	link := func(all bool, pageNo int) string {
		u := url.Values{}
		if all {
			u.Set("all", "1")
		}
		if v.Status != "" {
			u.Set("status", v.Status)
		}
		if v.Limit != v.DefaultLimit {
			u.Set("limit", strconv.Itoa(v.Limit))
		}
		if pageNo > 1 {
			u.Set("page", strconv.Itoa(pageNo))
		}
		if len(u) == 0 {
			return "/create/tasks"
		}
		return "/create/tasks?" + u.Encode()
	}
	if page > 1 {
		v.PrevHref = link(v.All, page-1)
	}
	if lp.Offset+len(v.Rows) < total {
		v.NextHref = link(v.All, page+1)
	}
	v.AllHref, v.MineHref = link(true, 1), link(false, 1)
	var buf bytes.Buffer
	if err := templates.ExecuteTemplate(&buf, "list", v); err != nil {
		web.WriteError(w, r, fault.Wrap(fault.Internal, err, "rendering the task list"))
		return
	}
	title := "My tasks"
	if v.All {
		title = "All tasks"
	}
	pg.p.Render.Render(w, r, ui.View{
		Title: title, Section: "create", Body: template.HTML(buf.String()), //nolint:gosec // produced by html/template
		Breadcrumbs: []ui.Crumb{{Label: "Create", Href: "/create"}},
		Styles:      []string{"task-page.css"},
	})
}

func validStatus(s string) bool {
	for _, x := range listStatuses {
		if s == x {
			return true
		}
	}
	return false
}

// taskDuration is the time from a task's first step start to its last
// step end (now, for a step still running); 0 before it starts.
func taskDuration(t *scaffolder.SerializedTask, now time.Time) time.Duration {
	var first, last time.Time
	for _, st := range t.State.Steps {
		if st.StartedAt == nil {
			continue
		}
		end := now
		if st.EndedAt != nil {
			end = *st.EndedAt
		}
		if first.IsZero() || st.StartedAt.Before(first) {
			first = *st.StartedAt
		}
		if end.After(last) {
			last = end
		}
	}
	if first.IsZero() {
		return 0
	}
	return last.Sub(first)
}
