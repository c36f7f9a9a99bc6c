package taskui

import (
	"net/http"

	"github.com/atrium-portal/atrium/internal/audit"
	"github.com/atrium-portal/atrium/internal/web"
)

// cancel serves POST /create/tasks/{id}/cancel: the page's Cancel button.
// The task's creator may cancel it; others need scaffolder.task.cancel.
func (pg *Pages) cancel(w http.ResponseWriter, r *http.Request) {
	t := pg.loadFor(w, r, PermCancel)
	if t == nil {
		return
	}
	status, err := pg.p.Service.Cancel(r.Context(), t.ID)
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	_ = audit.Record(r.Context(), audit.Event{Action: "scaffolder.task.cancel", Resource: "task:" + t.ID, Outcome: audit.Succeeded,
		Status: http.StatusSeeOther, Details: map[string]any{"status": status, "via": "task page"}})
	http.Redirect(w, r, "/create/tasks/"+t.ID, http.StatusSeeOther)
}

// retry serves POST /create/tasks/{id}/retry: the page's Retry button. It
// resumes a failed or cancelled task from its first unfinished step. The
// task's creator may retry it; others need scaffolder.task.create.
func (pg *Pages) retry(w http.ResponseWriter, r *http.Request) {
	t := pg.loadFor(w, r, PermCreate)
	if t == nil {
		return
	}
	if err := pg.p.Service.Retry(r.Context(), t.ID, nil); err != nil {
		web.WriteError(w, r, err)
		return
	}
	_ = audit.Record(r.Context(), audit.Event{Action: "scaffolder.task.retry", Resource: "task:" + t.ID, Outcome: audit.Succeeded,
		Status: http.StatusSeeOther, Details: map[string]any{"via": "task page"}})
	http.Redirect(w, r, "/create/tasks/"+t.ID, http.StatusSeeOther)
}
