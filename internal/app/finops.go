package app

import (
	"context"

	"github.com/atrium-portal/atrium/internal/auth"
	"github.com/atrium-portal/atrium/internal/authz"
	"github.com/atrium-portal/atrium/internal/fault"
	az "github.com/atrium-portal/atrium/internal/integrations/azure"
	"github.com/atrium-portal/atrium/internal/pluginhost/rpc"
	"github.com/atrium-portal/atrium/internal/web/ui"
	"github.com/atrium-portal/atrium/plugins/azure"
)

// costSource is the built-in Azure plugin's cost attribution: it reads
// the catalog Atrium hands it (the authorized one, so each reader's
// report holds what the reader may see).
type costSource interface {
	CostsConfigured() bool
	UseCatalog(azure.Catalog)
	CostReport(ctx context.Context, q azure.CostQuery) (*az.Report, error)
}

// costs returns the running cost source with a subscription, wired to
// the authorized catalog, or nil.
func (a *App) costs() costSource {
	a.pluginSet.mu.RLock()
	defer a.pluginSet.mu.RUnlock()
	for _, lp := range a.pluginSet.list {
		if c, ok := lp.p.(costSource); ok && lp.status.State == PluginRunning && c.CostsConfigured() {
			c.UseCatalog(a.catalog)
			return c
		}
	}
	return nil
}

// costReport answers the FinOps page and GET /api/azure/costs for the
// signed-in reader, who needs catalog.entity.read.
func (a *App) costReport(ctx context.Context, q ui.CostQuery) (*az.Report, error) {
	if _, denyAll, err := a.authz.Filter(ctx, auth.PrincipalFrom(ctx), authz.PermEntityRead); err != nil {
		return nil, err
	} else if denyAll {
		return nil, fault.New(fault.Forbidden, "not allowed: %s (costs are attributed to catalog entities)", authz.PermEntityRead)
	}
	c := a.costs()
	if c == nil {
		return nil, fault.New(fault.Unavailable, "the FinOps view needs the azure plugin: configure plugins.azure.config.subscriptions (or run with --demo)")
	}
	rep, err := c.CostReport(ctx, azure.CostQuery{GroupBy: q.GroupBy, Months: q.Months, Team: q.Team, System: q.System})
	if err != nil {
		return nil, rpc.Fault(azure.ID, err)
	}
	return rep, nil
}

// costsShown reports whether the FinOps navigation item shows: while the
// azure plugin runs with a subscription.
func (a *App) costsShown() bool { return a.costs() != nil }
