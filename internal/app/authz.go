package app

import (
	"context"
	"net/http"

	"github.com/atrium-portal/atrium/internal/audit"
	"github.com/atrium-portal/atrium/internal/authz"
	"github.com/atrium-portal/atrium/internal/config"
	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/web"
	"github.com/atrium-portal/atrium/internal/web/ui"
)

// authorize loads the permission policy and puts the authorized catalog in
// a.catalog: the REST API and the portal read and change the catalog only
// through it. Policy files are watched and reloaded while the App runs.
func (a *App) authorize() error {
	cfg := a.cfg.Atrium.Authz
	p := authz.Params{Admins: cfg.Admins, Logger: a.log, Events: a.auditEvent}
	for _, s := range cfg.Policies {
		if config.IsPolicyURL(s) {
			p.URLs = append(p.URLs, s)
		} else {
			p.Files = append(p.Files, s)
		}
	}
	if len(p.URLs) > 0 {
		// Policy URLs are read like url locations: from the hosts of
		// backend.reading.allow only.
		allow := make([]engine.AllowedHost, len(a.cfg.Backend.Reading.Allow))
		for i, h := range a.cfg.Backend.Reading.Allow {
			allow[i] = engine.AllowedHost{Host: h.Host, Paths: h.Paths}
		}
		p.Fetch = (&engine.URLReader{MaxBytes: authz.MaxPolicyBytes, Allow: allow}).Read
	}
	az, err := authz.New(p)
	if err != nil {
		return err
	}
	a.authz = az
	a.catalog = authz.Catalog(a.engine, az)
	if len(p.Files) > 0 && cfg.ReloadInterval > 0 {
		a.background = append(a.background, func(ctx context.Context) error {
			az.Watch(ctx, cfg.ReloadInterval)
			return nil
		})
	}
	if len(p.URLs) > 0 && cfg.URLRefreshInterval > 0 {
		a.background = append(a.background, func(ctx context.Context) error {
			az.WatchURLs(ctx, cfg.URLRefreshInterval)
			return nil
		})
	}
	return nil
}

// auditEvent appends an event that happens outside any request (a policy
// reload) to the audit log.
func (a *App) auditEvent(ctx context.Context, ev audit.Event) error {
	_, err := a.audit.Append(ctx, ev)
	return err
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
		api := &authz.API{Authorizer: a.authz, Catalog: a.catalog}
		api.Register(mux)
		api.RegisterRefresh(mux)
		page.Register(mux)
	}
}

// Authorizer returns the permission policy in force (nil with NoServer).
func (a *App) Authorizer() *authz.Authorizer { return a.authz }
