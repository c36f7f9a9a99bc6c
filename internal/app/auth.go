package app

import (
	"context"
	"net"
	"net/http"

	"github.com/atrium-portal/atrium/internal/audit"
	"github.com/atrium-portal/atrium/internal/auth"
	"github.com/atrium-portal/atrium/internal/web/ui"
)

// authenticator builds authentication from the auth and backend.auth
// sections. Without a sign-in provider Atrium runs in development mode,
// which it allows only on a loopback address.
func (a *App) authenticator(listener net.Listener, portal *ui.UI) (*auth.Authenticator, error) {
	cfg := a.cfg
	authn, err := auth.New(auth.Params{
		Store:    a.store,
		Catalog:  a.engine,
		Auth:     cfg.Auth,
		External: cfg.Backend.Auth.ExternalAccess,
		BaseURL:  cfg.Backend.BaseURL,
		Logger:   a.log,
		Secrets:  a.live,
		Audit: func(ctx context.Context, ev auth.AuditEvent) {
			outcome := audit.Succeeded
			if !ev.Succeeded {
				outcome = audit.Denied
			}
			if err := audit.Record(ctx, audit.Event{Action: ev.Action, Resource: ev.Resource, Outcome: outcome, Details: ev.Details}); err != nil {
				a.log.ErrorContext(ctx, "audit record", "action", ev.Action, "error", err.Error())
			}
		},
		Render: func(w http.ResponseWriter, r *http.Request, p auth.Page) {
			portal.Render(w, r, ui.View{Title: p.Title, Section: "settings", Body: p.Body, Status: p.Status})
		},
	})
	if err != nil {
		return nil, err
	}
	if authn.Development() {
		host := cfg.Backend.Listen.Host
		if listener != nil {
			host, _, _ = net.SplitHostPort(listener.Addr().String())
		}
		if err := auth.CheckDevelopmentHost(host); err != nil {
			return nil, err
		}
		a.log.Warn("development mode: no sign-in provider is configured; every request acts as "+cfg.Auth.DevelopmentUser,
			"configure", "auth.providers")
	}
	a.background = append(a.background, authn.Run)
	return authn, nil
}

// runBackground starts the App's background loops; they stop with ctx.
func (a *App) runBackground(ctx context.Context) {
	for _, run := range a.background {
		go func() {
			if err := run(ctx); err != nil && ctx.Err() == nil {
				a.log.Error("background task stopped", "error", err.Error())
			}
		}()
	}
}

// Routes returns every route pattern the server registered, and those of
// them that need no principal (nil with NoServer). The route-coverage test
// requests each one without credentials.
func (a *App) Routes() (all, public []string) {
	if a.server == nil {
		return nil, nil
	}
	return a.server.Routes(), a.server.PublicRoutes()
}
