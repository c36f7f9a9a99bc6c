// Package api serves the scaffolder's REST API under /api/scaffolder/v2 in
// Backstage's shapes: tasks, their events (long poll and SSE), dry runs,
// actions, parameter schemas and autocompletion for pickers.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/atrium-portal/atrium/internal/audit"
	"github.com/atrium-portal/atrium/internal/auth"
	"github.com/atrium-portal/atrium/internal/authz"
	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/scaffolder"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/web"
)

// Prefix is where the routes live.
const Prefix = "/api/scaffolder/v2"

// Checker decides permissions (*authz.Authorizer implements it).
type Checker interface {
	Check(ctx context.Context, p *auth.Principal, perm string, res *authz.Resource) error
}

// API is the HTTP face of a scaffolder.Service.
type API struct {
	Service *scaffolder.Service
	// Catalog answers autocompletion (the caller's view of the catalog).
	Catalog engine.Catalog
	// Authz checks scaffolder permissions; nil allows everything.
	Authz Checker
	// MaxPageSize bounds GET /tasks (default 100); LongPoll bounds a wait
	// on GET /events (default 30s).
	MaxPageSize int
	LongPoll    time.Duration
}

// Register adds the routes.
func (a *API) Register(mux web.Mux) {
	mux.HandleFunc("POST "+Prefix+"/tasks", a.createTask)
	mux.HandleFunc("GET "+Prefix+"/tasks", a.listTasks)
	mux.HandleFunc("GET "+Prefix+"/tasks/{id}", a.getTask)
	mux.HandleFunc("POST "+Prefix+"/tasks/{id}/cancel", a.cancelTask)
	mux.HandleFunc("POST "+Prefix+"/tasks/{id}/retry", a.retryTask)
	mux.HandleFunc("GET "+Prefix+"/tasks/{id}/events", a.events)
	mux.HandleFunc("GET "+Prefix+"/tasks/{id}/eventstream", a.eventStream)
	mux.HandleFunc("POST "+Prefix+"/dry-run", a.dryRun)
	mux.HandleFunc("GET "+Prefix+"/actions", a.actions)
	mux.HandleFunc("GET "+Prefix+"/templates/{namespace}/{kind}/{name}/parameter-schema", a.parameterSchema)
	mux.HandleFunc("POST "+Prefix+"/autocomplete/{provider}/{resource}", a.autocomplete)
	mux.HandleFunc("GET "+Prefix+"/autocomplete/{provider}/{resource}", a.autocomplete)
}

func (a *API) check(r *http.Request, perm string) error {
	if a.Authz == nil {
		return nil
	}
	return a.Authz.Check(r.Context(), auth.PrincipalFrom(r.Context()), perm, nil)
}

// checkTask allows perm on a task to its creator even when the policy
// only allows it conditionally (Backstage's IS_TASK_OWNER).
func (a *API) checkTask(r *http.Request, perm string, t *scaffolder.SerializedTask) error {
	err := a.check(r, perm)
	if err == nil {
		return nil
	}
	if p := auth.PrincipalFrom(r.Context()); p != nil && p.Ref != "" && p.Ref == t.CreatedBy {
		return nil
	}
	return err
}

func readJSON(r *http.Request, v any) error {
	if r.Body == nil {
		return fault.New(fault.Invalid, "request body is required")
	}
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fault.New(fault.TooLarge, "request body exceeds %d bytes", mbe.Limit)
		}
		return fault.New(fault.Invalid, "request body: %v", err)
	}
	return nil
}

// writeErr answers validation failures with Backstage's {errors: [...]}.
func writeErr(w http.ResponseWriter, r *http.Request, err error) {
	var verr *scaffolder.ValidationErrors
	if errors.As(err, &verr) {
		web.WriteJSON(w, http.StatusBadRequest, map[string]any{
			"errors": verr.Errors,
			"error":  map[string]string{"name": "InputError", "message": verr.Error()},
		})
		return
	}
	web.WriteError(w, r, err)
}

func (a *API) createTask(w http.ResponseWriter, r *http.Request) {
	if err := a.check(r, "scaffolder.task.create"); err != nil {
		writeErr(w, r, err)
		return
	}
	var p scaffolder.CreateParams
	if err := readJSON(r, &p); err != nil {
		writeErr(w, r, err)
		return
	}
	id, err := a.Service.Create(r.Context(), p)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	_ = audit.Record(r.Context(), audit.Event{Action: "scaffolder.task.create", Resource: "task:" + id, Outcome: audit.Succeeded,
		Status: http.StatusCreated, Details: map[string]any{"templateRef": p.TemplateRef, "secrets": len(p.Secrets)}})
	web.WriteJSON(w, http.StatusCreated, map[string]string{"id": id})
}

func (a *API) listTasks(w http.ResponseWriter, r *http.Request) {
	if err := a.check(r, "scaffolder.task.read"); err != nil {
		// Without a blanket permission, a caller sees their own tasks.
		p := auth.PrincipalFrom(r.Context())
		if p == nil || p.Ref == "" {
			writeErr(w, r, err)
			return
		}
		q := r.URL.Query()
		q["createdBy"] = []string{p.Ref}
		r.URL.RawQuery = q.Encode()
	}
	q := r.URL.Query()
	maxPage := a.MaxPageSize
	if maxPage <= 0 {
		maxPage = 100
	}
	p := scaffolder.ListParams{CreatedBy: q["createdBy"], Status: q["status"], TemplateRef: q.Get("templateRef"), Limit: maxPage}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPage {
			writeErr(w, r, fault.New(fault.Invalid, "limit must be an integer from 1 to %d, got %q", maxPage, v))
			return
		}
		p.Limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeErr(w, r, fault.New(fault.Invalid, "offset must be a non-negative integer, got %q", v))
			return
		}
		p.Offset = n
	}
	switch o := q.Get("order"); o {
	case "", "desc:created_at", "desc:createdAt":
	case "asc:created_at", "asc:createdAt":
		p.Ascending = true
	default:
		writeErr(w, r, fault.New(fault.Invalid, "order must be asc:created_at or desc:created_at, got %q", o))
		return
	}
	tasks, total, err := a.Service.List(r.Context(), p)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"tasks": tasks, "totalTasks": total})
}

// task loads the task named in the path and checks perm on it.
func (a *API) task(w http.ResponseWriter, r *http.Request, perm string) *scaffolder.SerializedTask {
	t, err := a.Service.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		writeErr(w, r, err)
		return nil
	}
	if err := a.checkTask(r, perm, t); err != nil {
		// Do not tell others' tasks exist.
		writeErr(w, r, fault.New(fault.NotFound, "task %s not found", t.ID))
		return nil
	}
	return t
}

func (a *API) getTask(w http.ResponseWriter, r *http.Request) {
	if t := a.task(w, r, "scaffolder.task.read"); t != nil {
		web.WriteJSON(w, http.StatusOK, t)
	}
}

func (a *API) cancelTask(w http.ResponseWriter, r *http.Request) {
	t := a.task(w, r, "scaffolder.task.cancel")
	if t == nil {
		return
	}
	status, err := a.Service.Cancel(r.Context(), t.ID)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	_ = audit.Record(r.Context(), audit.Event{Action: "scaffolder.task.cancel", Resource: "task:" + t.ID, Outcome: audit.Succeeded, Status: http.StatusOK})
	web.WriteJSON(w, http.StatusOK, map[string]string{"status": status})
}

func (a *API) retryTask(w http.ResponseWriter, r *http.Request) {
	t := a.task(w, r, "scaffolder.task.read")
	if t == nil {
		return
	}
	if err := a.check(r, "scaffolder.task.create"); err != nil && t.CreatedBy != principalRef(r) {
		writeErr(w, r, err)
		return
	}
	var body struct {
		Secrets map[string]string `json:"secrets"`
	}
	if r.ContentLength != 0 {
		if err := readJSON(r, &body); err != nil {
			writeErr(w, r, err)
			return
		}
	}
	if err := a.Service.Retry(r.Context(), t.ID, body.Secrets); err != nil {
		writeErr(w, r, err)
		return
	}
	_ = audit.Record(r.Context(), audit.Event{Action: "scaffolder.task.retry", Resource: "task:" + t.ID, Outcome: audit.Succeeded, Status: http.StatusCreated})
	web.WriteJSON(w, http.StatusCreated, map[string]string{"id": t.ID})
}

func principalRef(r *http.Request) string {
	if p := auth.PrincipalFrom(r.Context()); p != nil {
		return p.Ref
	}
	return ""
}

func afterParam(r *http.Request) (int64, error) {
	v := r.URL.Query().Get("after")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fault.New(fault.Invalid, "after must be a non-negative event id, got %q", v)
	}
	return n, nil
}

func (a *API) longPoll() time.Duration {
	if a.LongPoll > 0 {
		return a.LongPoll
	}
	return 30 * time.Second
}

func (a *API) events(w http.ResponseWriter, r *http.Request) {
	t := a.task(w, r, "scaffolder.task.read")
	if t == nil {
		return
	}
	after, err := afterParam(r)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	evs, err := a.Service.Events(r.Context(), t.ID, after, a.longPoll())
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if evs == nil {
		evs = []scaffolder.TaskEvent{}
	}
	web.WriteJSON(w, http.StatusOK, evs)
}

// eventStream replays the events after `after`, then pushes new ones as
// Server-Sent Events, and ends after the completion event.
func (a *API) eventStream(w http.ResponseWriter, r *http.Request) {
	t := a.task(w, r, "scaffolder.task.read")
	if t == nil {
		return
	}
	after, err := afterParam(r)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Connection", "keep-alive")
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush()
	ctx := r.Context()
	for {
		evs, err := a.Service.Events(ctx, t.ID, after, 15*time.Second)
		if err != nil {
			return
		}
		if len(evs) == 0 {
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return
			}
			_ = rc.Flush()
			continue
		}
		for _, ev := range evs {
			data, _ := json.Marshal(ev)
			if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.Type, data); err != nil {
				return
			}
			after = ev.ID
			if ev.Type == scaffolder.EventCompletion {
				_ = rc.Flush()
				return
			}
		}
		_ = rc.Flush()
	}
}

func (a *API) dryRun(w http.ResponseWriter, r *http.Request) {
	if err := a.check(r, "scaffolder.task.create"); err != nil {
		writeErr(w, r, err)
		return
	}
	var p scaffolder.DryRunParams
	if err := readJSON(r, &p); err != nil {
		writeErr(w, r, err)
		return
	}
	res, err := a.Service.DryRun(r.Context(), p)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	_ = audit.Record(r.Context(), audit.Event{Action: "scaffolder.task.dry-run", Outcome: audit.Succeeded, Status: http.StatusOK})
	web.WriteJSON(w, http.StatusOK, res)
}

func (a *API) actions(w http.ResponseWriter, r *http.Request) {
	web.WriteJSON(w, http.StatusOK, a.Service.Registry().List())
}

func (a *API) parameterSchema(w http.ResponseWriter, r *http.Request) {
	if err := a.check(r, "scaffolder.template.parameter.read"); err != nil {
		writeErr(w, r, err)
		return
	}
	ref := catalog.Ref{Kind: strings.ToLower(r.PathValue("kind")), Namespace: strings.ToLower(r.PathValue("namespace")), Name: strings.ToLower(r.PathValue("name"))}
	t, err := a.Service.Template(r.Context(), ref.String())
	if err != nil {
		writeErr(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, t.ParameterSchema())
}

// autocomplete answers pickers from the catalog: provider "catalog" with
// resource "entities" (context.kind, context.filter text) or "owners", and
// provider "atrium" with resource "owners" for the embedded git host.
func (a *API) autocomplete(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Context map[string]string `json:"context"`
	}
	if r.Method == http.MethodPost && r.ContentLength != 0 {
		if err := readJSON(r, &body); err != nil {
			writeErr(w, r, err)
			return
		}
	}
	if body.Context == nil {
		body.Context = map[string]string{}
	}
	for k, v := range r.URL.Query() {
		if len(v) > 0 {
			body.Context[k] = v[0]
		}
	}
	provider, resource := r.PathValue("provider"), r.PathValue("resource")
	if provider != "catalog" && provider != "atrium" {
		writeErr(w, r, fault.New(fault.NotFound, "no autocomplete provider %q (available: catalog)", provider))
		return
	}
	var kinds []string
	switch resource {
	case "entities":
		if k := body.Context["kind"]; k != "" {
			kinds = strings.Split(k, ",")
		}
	case "owners":
		kinds = []string{"group", "user"}
	case "tags":
		a.tags(w, r)
		return
	default:
		writeErr(w, r, fault.New(fault.NotFound, "no autocomplete resource %q (available: entities, owners, tags)", resource))
		return
	}
	q := engine.Query{Limit: 20, Order: &store.Order{Field: "metadata.name"}}
	if len(kinds) > 0 {
		lower := make([]string, len(kinds))
		for i, k := range kinds {
			lower[i] = strings.ToLower(strings.TrimSpace(k))
		}
		q.Filter = catalog.In("kind", lower...)
	}
	if text := body.Context["search"]; text != "" {
		q.FullText = &store.FullText{Term: text, Fields: []string{"metadata.name", "metadata.title"}}
	}
	page, err := a.Catalog.Entities(r.Context(), q)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	results := []map[string]string{}
	for _, e := range page.Items {
		res := map[string]string{"id": e.Ref().String()}
		if e.Metadata.Title != "" {
			res["title"] = e.Metadata.Title
		}
		results = append(results, res)
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"results": results})
}

func (a *API) tags(w http.ResponseWriter, r *http.Request) {
	facets, err := a.Catalog.Facets(r.Context(), []string{"metadata.tags"}, nil)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	results := []map[string]string{}
	for _, f := range facets["metadata.tags"] {
		results = append(results, map[string]string{"id": f.Value})
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"results": results})
}
