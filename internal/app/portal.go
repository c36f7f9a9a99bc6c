package app

import (
	"github.com/atrium-portal/atrium/internal/web/ui"
)

// portal builds the web UI over the engine; its Close joins the cleanup.
func (a *App) portal() (*ui.UI, error) {
	cards := &cardEvents{}
	u, err := ui.New(ui.Params{
		Catalog:    a.catalog,
		Logger:     a.log,
		Subscribe:  a.engine.Subscribe,
		Recent:     a.store.EntityRecent,
		ReadOnly:   a.cfg.Catalog.Readonly,
		Cards:      a.cardsLive(cards),
		CardEvents: cards.Subscribe,
		Costs:      a.costReport,
		Limits:     ui.Limits{CardTimeout: a.cfg.Atrium.Limits.PluginCardTimeout},
		Nav: []ui.NavItem{{Section: "create", Label: "Create", Href: "/create"}, {Section: "docs", Label: "Docs", Href: "/docs"},
			{Section: "finops", Label: "FinOps", Href: "/finops", Shown: a.costsShown}},
	})
	if err != nil {
		return nil, err
	}
	a.cleanup = append(a.cleanup, u.Close)
	return u, nil
}
