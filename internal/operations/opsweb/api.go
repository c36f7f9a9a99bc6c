// Package opsweb serves the persisted operations of internal/operations:
// the API under /api/atrium/operations and the /operations page. It is
// apart from the service so that the service (and plugintest, which plugin
// authors import) does not depend on the web, audit and secrets packages.
package opsweb

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/atrium-portal/atrium/internal/audit"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/operations"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/web"
	"github.com/atrium-portal/atrium/plugin"
)

// The permissions of the operations API and page.
const (
	// PermRead sees every operation; without it a caller sees the
	// operations of the tasks they may read.
	PermRead = "atrium.admin.operations.read"
	// PermManage cancels any operation; without it a caller cancels the
	// operations of the tasks they may cancel.
	PermManage = "atrium.admin.operations.manage"
)

// Access decides who sees and cancels what.
type Access struct {
	// Allowed fails unless the caller holds perm.
	Allowed func(r *http.Request, perm string) error
	// TaskAllowed fails unless the caller may perm on the task (its
	// creator, or the policy allows it).
	TaskAllowed func(r *http.Request, perm, taskID string) error
}

// can reports whether the caller may see (read) or cancel one operation:
// the admin permission, or the matching task permission on its task.
func (a Access) can(r *http.Request, adminPerm, taskPerm string, op plugin.Operation) error {
	err := a.Allowed(r, adminPerm)
	if err == nil || op.TaskID == "" {
		return err
	}
	return a.TaskAllowed(r, taskPerm, op.TaskID)
}

// API serves /api/atrium/operations.
type API struct {
	Service *operations.Service
	Access  Access
	// MaxPageSize bounds a page (default 100).
	MaxPageSize int
}

// Register adds the routes.
func (a *API) Register(mux web.Mux) {
	mux.HandleFunc("GET /api/atrium/operations", a.list)
	mux.HandleFunc("GET /api/atrium/operations/{id}", a.get)
	mux.HandleFunc("POST /api/atrium/operations/{id}/cancel", a.cancel)
}

// listParams reads the list filters and paging from the query.
func listParams(r *http.Request, maxPage int) (store.OperationListParams, error) {
	if maxPage <= 0 {
		maxPage = 100
	}
	q := r.URL.Query()
	p := store.OperationListParams{System: q.Get("system"), TaskID: q.Get("task"), EntityRef: q.Get("entity"), Limit: min(50, maxPage)}
	for _, s := range q["state"] {
		for st := range strings.SplitSeq(s, ",") {
			if st = strings.TrimSpace(st); st != "" {
				p.State = append(p.State, st)
			}
		}
	}
	for _, f := range []struct {
		name string
		dst  *int
		max  int
	}{{"limit", &p.Limit, maxPage}, {"offset", &p.Offset, -1}} {
		v := q.Get(f.name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || (f.max > 0 && n > f.max) || (f.name == "limit" && n == 0) {
			if f.max > 0 {
				return p, fault.New(fault.Invalid, "query parameter %s: %q is not a number from 1 to %d", f.name, v, f.max)
			}
			return p, fault.New(fault.Invalid, "query parameter %s: %q is not a number of 0 or more", f.name, v)
		}
		*f.dst = n
	}
	return p, nil
}

// authorizeList allows the admin everything, others only one task's
// operations that they may read.
func (a *API) authorizeList(r *http.Request, p store.OperationListParams) error {
	err := a.Access.Allowed(r, PermRead)
	if err == nil {
		return nil
	}
	if p.TaskID == "" {
		return fault.New(fault.Forbidden, "listing every operation needs %s; ask for one task's operations with ?task=ID", PermRead)
	}
	return a.Access.TaskAllowed(r, "scaffolder.task.read", p.TaskID)
}

func (a *API) list(w http.ResponseWriter, r *http.Request) {
	p, err := listParams(r, a.MaxPageSize)
	if err == nil {
		err = a.authorizeList(r, p)
	}
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	ops, total, err := a.Service.List(r.Context(), p)
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"items": ops, "totalItems": total, "limit": p.Limit, "offset": p.Offset})
}

// operation loads the operation in the path and checks that the caller
// may see it; one they may not see answers 404 like a missing one.
func (a *API) operation(w http.ResponseWriter, r *http.Request) (plugin.Operation, bool) {
	id := r.PathValue("id")
	op, err := a.Service.Get(r.Context(), id)
	if err == nil && a.Access.can(r, PermRead, "scaffolder.task.read", op) != nil {
		err = fault.New(fault.NotFound, "operation %s not found", id)
	}
	if err != nil {
		web.WriteError(w, r, err)
		return op, false
	}
	return op, true
}

func (a *API) get(w http.ResponseWriter, r *http.Request) {
	if op, ok := a.operation(w, r); ok {
		web.WriteJSON(w, http.StatusOK, op)
	}
}

func (a *API) cancel(w http.ResponseWriter, r *http.Request) {
	op, ok := a.operation(w, r)
	if !ok {
		return
	}
	if err := a.Access.can(r, PermManage, "scaffolder.task.cancel", op); err != nil {
		_ = audit.Record(r.Context(), audit.Event{Action: "operation.cancel", Resource: "operation:" + op.ID, Outcome: audit.Denied, Status: http.StatusForbidden})
		web.WriteError(w, r, fault.New(fault.Forbidden, "cancelling operation %s needs scaffolder.task.cancel on its task or %s", op.ID, PermManage))
		return
	}
	op, err := a.Service.Cancel(r.Context(), op.ID)
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	_ = audit.Record(r.Context(), audit.Event{Action: "operation.cancel", Resource: "operation:" + op.ID, Outcome: audit.Succeeded, Status: http.StatusOK,
		Details: map[string]any{"system": op.System, "kind": op.Kind, "task": op.TaskID, "state": string(op.State)}})
	web.WriteJSON(w, http.StatusOK, op)
}
