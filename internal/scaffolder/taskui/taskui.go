// Package taskui serves the scaffolder's task pages in the portal: one
// task's steps, live logs and output (GET /create/tasks/{id}), the cancel
// and retry forms, the page's event stream, and "My tasks"
// (GET /create/tasks).
//
// Pages are rendered here and handed to the portal's layout through
// Params.Render; they work without JavaScript (a snapshot with a refresh
// link), and static/task-page.js streams new log lines and step states
// over Server-Sent Events.
package taskui

import (
	"context"
	"embed"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/atrium-portal/atrium/internal/auth"
	"github.com/atrium-portal/atrium/internal/authz"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/operations/opsweb"
	"github.com/atrium-portal/atrium/internal/scaffolder"
	"github.com/atrium-portal/atrium/internal/web"
	"github.com/atrium-portal/atrium/internal/web/ui"
	"github.com/atrium-portal/atrium/plugin"
)

// Scaffolder permissions, as the API checks them.
const (
	PermRead   = "scaffolder.task.read"
	PermCancel = "scaffolder.task.cancel"
	PermCreate = "scaffolder.task.create"
)

// Checker decides permissions (*authz.Authorizer implements it).
type Checker interface {
	Check(ctx context.Context, p *auth.Principal, perm string, res *authz.Resource) error
}

// Renderer puts a body into the portal's layout (*ui.UI implements it).
type Renderer interface {
	Render(w http.ResponseWriter, r *http.Request, v ui.View)
}

// Limits bound what one page or stream may cost.
type Limits struct {
	// PageSize is the number of tasks of a "My tasks" page (default 20);
	// MaxPageSize caps ?limit= (default 100).
	PageSize, MaxPageSize int
	// MaxEvents caps the log events a task page renders (default 5000);
	// the page says when lines were left out.
	MaxEvents int
	// MaxStreams caps concurrent task event streams (default 500); more
	// are refused with 429 and the page falls back to its refresh link.
	MaxStreams int
	// Heartbeat is the interval of keep-alive comments on a stream
	// (default 15s).
	Heartbeat time.Duration
}

// Params configure the pages.
type Params struct {
	Service *scaffolder.Service
	// Authz checks permissions; nil allows everything.
	Authz  Checker
	Render Renderer
	Limits Limits
	// Now is the clock (time.Now when nil), for durations.
	Now func() time.Time
	// Operations returns a task's long-running operations (nil: none
	// shown), listed under their steps.
	Operations func(ctx context.Context, taskID string) ([]plugin.Operation, error)
}

// Pages serves the task pages.
type Pages struct {
	p       Params
	streams chan struct{}
}

// New checks p and fills the defaults.
func New(p Params) (*Pages, error) {
	if p.Service == nil || p.Render == nil {
		return nil, fault.New(fault.Invalid, "taskui: Params.Service and Params.Render are required")
	}
	l := &p.Limits
	if l.PageSize <= 0 {
		l.PageSize = 20
	}
	if l.MaxPageSize <= 0 {
		l.MaxPageSize = 100
	}
	l.PageSize = min(l.PageSize, l.MaxPageSize)
	if l.MaxEvents <= 0 {
		l.MaxEvents = 5000
	}
	if l.MaxStreams <= 0 {
		l.MaxStreams = 500
	}
	if l.Heartbeat <= 0 {
		l.Heartbeat = 15 * time.Second
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	return &Pages{p: p, streams: make(chan struct{}, l.MaxStreams)}, nil
}

// Register adds the routes.
func (pg *Pages) Register(mux web.Mux) {
	mux.HandleFunc("GET /create/tasks", pg.list)
	mux.HandleFunc("GET /create/tasks/{id}", pg.task)
	mux.HandleFunc("GET /create/tasks/{id}/events", pg.events)
	mux.HandleFunc("POST /create/tasks/{id}/cancel", pg.cancel)
	mux.HandleFunc("POST /create/tasks/{id}/retry", pg.retry)
}

//go:embed templates/*.html
var templateFS embed.FS

var templates = template.Must(template.New("taskui").Funcs(template.FuncMap{
	"statusClass": statusClass,
	"opClass":     opsweb.StateClass,
	"statusIcon":  statusIcon,
	"statusLabel": statusLabel,
	"duration":    formatDuration,
	"timeAttr":    func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"timeText":    func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
}).ParseFS(templateFS, "templates/*.html"))

func (pg *Pages) principal(r *http.Request) *auth.Principal { return auth.PrincipalFrom(r.Context()) }

// allowed reports whether the caller holds perm outright.
func (pg *Pages) allowed(r *http.Request, perm string) (bool, error) {
	if pg.p.Authz == nil {
		return true, nil
	}
	err := pg.p.Authz.Check(r.Context(), pg.principal(r), perm, nil)
	if err == nil {
		return true, nil
	}
	if fault.Is(err, fault.Forbidden) || fault.Is(err, fault.Unauthorized) {
		return false, nil
	}
	return false, err
}

// owns reports whether the caller created t (Backstage's IS_TASK_OWNER).
func (pg *Pages) owns(r *http.Request, t *scaffolder.SerializedTask) bool {
	p := pg.principal(r)
	return p != nil && p.Ref != "" && p.Ref == t.CreatedBy
}

// mayOn reports whether the caller may do perm on t: with the permission,
// or as the task's creator.
func (pg *Pages) mayOn(r *http.Request, perm string, t *scaffolder.SerializedTask) (bool, error) {
	if pg.owns(r, t) {
		return true, nil
	}
	return pg.allowed(r, perm)
}

// load reads the task named in the path and checks that the caller may
// read it; others' tasks are reported missing, as the API does.
func (pg *Pages) load(w http.ResponseWriter, r *http.Request) *scaffolder.SerializedTask {
	return pg.loadFor(w, r, PermRead)
}

// loadFor is load for an action needing perm: a caller who may do it
// without reading tasks gets the task; one who may do neither is refused
// (403: the form was posted, so the id came from somewhere).
func (pg *Pages) loadFor(w http.ResponseWriter, r *http.Request, perm string) *scaffolder.SerializedTask {
	id := r.PathValue("id")
	t, err := pg.p.Service.Get(r.Context(), id)
	if err == nil && t.Spec.DryRun {
		err = fault.New(fault.NotFound, "task %s not found", id)
	}
	if err != nil {
		web.WriteError(w, r, err)
		return nil
	}
	ok, err := pg.mayOn(r, perm, t)
	if err != nil {
		web.WriteError(w, r, err)
		return nil
	}
	if !ok && perm == PermRead {
		web.WriteError(w, r, fault.New(fault.NotFound, "task %s not found", id))
		return nil
	}
	if !ok {
		web.WriteError(w, r, fault.New(fault.Forbidden, "%s on task %s needs the %s permission, or being the one who started the task", actionName(perm), id, perm))
		return nil
	}
	return t
}

// templateTitle is the title of a task's template, or its ref's name when
// the template is no longer in the catalog.
func (pg *Pages) templateTitle(ctx context.Context, ref string) string {
	if t, err := pg.p.Service.Template(ctx, ref); err == nil && t.Title != "" {
		return t.Title
	}
	if i := strings.LastIndex(ref, "/"); i >= 0 {
		return ref[i+1:]
	}
	return ref
}

func actionName(perm string) string {
	switch perm {
	case PermCancel:
		return "cancelling"
	case PermCreate:
		return "retrying"
	}
	return "reading"
}

func statusClass(s string) string {
	switch s {
	case scaffolder.StatusCompleted:
		return "ok"
	case scaffolder.StatusFailed:
		return "err"
	case scaffolder.StatusProcessing:
		return "info"
	case scaffolder.StatusCancelled:
		return "warn"
	}
	return ""
}

// statusIcon is a symbol that tells the states apart without colour.
func statusIcon(s string) string {
	switch s {
	case scaffolder.StatusCompleted:
		return "✓"
	case scaffolder.StatusFailed:
		return "✕"
	case scaffolder.StatusProcessing:
		return "◐"
	case scaffolder.StatusCancelled:
		return "⊘"
	case scaffolder.StatusSkipped:
		return "↷"
	}
	return "○"
}

func statusLabel(s string) string {
	switch s {
	case "", scaffolder.StatusOpen, "pending":
		return "pending"
	}
	return s
}

// formatDuration prints a duration as people read it: 850ms, 4.2s, 3m05s.
func formatDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return ""
	case d < time.Millisecond:
		return "<1ms"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	case d < time.Hour:
		return d.Round(time.Second).String()
	}
	return d.Round(time.Minute).String()
}
