package app

import (
	"context"
	"net/http"

	"github.com/atrium-portal/atrium/internal/authz"
	"github.com/atrium-portal/atrium/internal/web"
	"github.com/atrium-portal/atrium/internal/web/ui"
)

// authorize loads the permission policy and puts the authorized catalog in
// a.catalog: the REST API and the portal read and change the catalog only
// through it. Policy files are watched and reloaded while the App runs.
func (a *App) authorize() error {
	cfg := a.cfg.Atrium.Authz
	az, err := authz.New(authz.Params{Files: cfg.Policies, Admins: cfg.Admins, Logger: a.log})
	if err != nil {
		return err
	}
	a.authz = az
	a.catalog = authz.Catalog(a.engine, az)
	if len(cfg.Policies) > 0 && cfg.ReloadInterval > 0 {
		a.background = append(a.background, func(ctx context.Context) error {
			az.Watch(ctx, cfg.ReloadInterval)
			return nil
		})
	}
	return nil
}

// permissionRoutes registers Backstage's POST /api/permission/authorize
// and the permissions page, framed by the portal's layout.
func (a *App) permissionRoutes(portal *ui.UI) func(web.Mux) {
	page := &authz.Page{
		Authorizer: a.authz,
		Catalog:    a.engine,
		Render: func(w http.ResponseWriter, r *http.Request, v authz.PageView) {
			portal.Render(w, r, ui.View{Title: v.Title, Section: "settings", Body: v.Body, Status: v.Status})
		},
	}
	return func(mux web.Mux) {
		(&authz.API{Authorizer: a.authz, Catalog: a.catalog}).Register(mux)
		page.Register(mux)
	}
}

// Authorizer returns the permission policy in force (nil with NoServer).
func (a *App) Authorizer() *authz.Authorizer { return a.authz }
