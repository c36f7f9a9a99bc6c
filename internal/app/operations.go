package app

import (
	"context"
	"html/template"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/atrium-portal/atrium/internal/auth"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/integrations/breaker"
	"github.com/atrium-portal/atrium/internal/operations"
	"github.com/atrium-portal/atrium/internal/operations/opsweb"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/web"
	"github.com/atrium-portal/atrium/internal/web/ui"
	"github.com/atrium-portal/atrium/plugin"
)

// Operations returns the service of long-running external work.
func (a *App) Operations() *operations.Service { return a.operationsSvc }

// newOperations builds the operations service; cancelling a running
// operation cancels the task whose step follows it.
func (a *App) newOperations() *operations.Service {
	return &operations.Service{Store: a.store, CancelTask: func(ctx context.Context, taskID string) error {
		if a.scaffolderSvc == nil {
			return nil
		}
		_, err := a.scaffolderSvc.Cancel(ctx, taskID)
		return err
	}}
}

// taskOperations lists a task's operations for its page (at most 100).
func (a *App) taskOperations(ctx context.Context, taskID string) ([]plugin.Operation, error) {
	ops, _, err := a.operationsSvc.List(ctx, store.OperationListParams{TaskID: taskID, Limit: 100})
	return ops, err
}

// taskAllowed lets the creator of a task, or whoever the policy allows
// perm, act on it (the scaffolder API's rule).
func (a *App) taskAllowed(r *http.Request, perm, taskID string) error {
	if a.scaffolderSvc == nil {
		return fault.New(fault.NotFound, "task %s not found", taskID)
	}
	t, err := a.scaffolderSvc.Get(r.Context(), taskID)
	if err != nil {
		return err
	}
	if err := a.allowed(r, perm); err == nil {
		return nil
	}
	if p := auth.PrincipalFrom(r.Context()); p != nil && p.Ref != "" && p.Ref == t.CreatedBy {
		return nil
	}
	return fault.New(fault.Forbidden, "not allowed: %s on task %s", perm, taskID)
}

// operationRoutes registers GET/POST /api/atrium/operations… and the
// Operations page.
func (a *App) operationRoutes(portal *ui.UI) func(web.Mux) {
	api := &opsweb.API{
		Service:     a.operationsSvc,
		Access:      opsweb.Access{Allowed: a.allowed, TaskAllowed: a.taskAllowed},
		MaxPageSize: a.cfg.Atrium.Limits.MaxPageSize,
	}
	page := &opsweb.Page{API: api, Breakers: a.breakerStates, Render: func(w http.ResponseWriter, r *http.Request, title string, body template.HTML) {
		portal.Render(w, r, ui.View{Title: title, Section: "settings", Body: body})
	}}
	return func(mux web.Mux) {
		api.Register(mux)
		page.Register(mux)
	}
}

// breakerStates lists the circuit breakers of the external systems.
func (a *App) breakerStates() []opsweb.BreakerState {
	var out []opsweb.BreakerState
	for _, s := range breaker.States() {
		out = append(out, opsweb.BreakerState{System: s.System, Open: s.Open, Failures: s.Failures})
	}
	return out
}

var (
	descBreakerOpen     = prometheus.NewDesc("atrium_integration_breaker_open", "1 while the circuit breaker of an external system refuses requests, by system.", []string{"system"}, nil)
	descBreakerFailures = prometheus.NewDesc("atrium_integration_breaker_failures", "Failed requests in a row to an external system, by system.", []string{"system"}, nil)
)

// breakerCollector exports the circuit breakers of this replica.
type breakerCollector struct{}

func (breakerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descBreakerOpen
	ch <- descBreakerFailures
}

func (breakerCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range breaker.States() {
		open := 0.0
		if s.Open {
			open = 1
		}
		ch <- prometheus.MustNewConstMetric(descBreakerOpen, prometheus.GaugeValue, open, s.System)
		ch <- prometheus.MustNewConstMetric(descBreakerFailures, prometheus.GaugeValue, float64(s.Failures), s.System)
	}
}
