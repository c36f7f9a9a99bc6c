package app

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/atrium-portal/atrium/internal/audit"
	"github.com/atrium-portal/atrium/internal/authz"
	"github.com/atrium-portal/atrium/internal/config"
	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/scaffolder/actions"
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
		fetch, err := a.policyFetcher()
		if err != nil {
			return err
		}
		p.Fetch = fetch
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

// policyFetcher reads policy URLs. Files on Atrium's own embedded git host
// (<backend.baseUrl>/git/{owner}/{repo}/tree/{branch}/{path}) are read in
// process, since over HTTP that host wants a principal; any other URL is
// read like a url location, from the hosts of backend.reading.allow only.
func (a *App) policyFetcher() (func(ctx context.Context, url string) ([]byte, error), error) {
	allow := make([]engine.AllowedHost, len(a.cfg.Backend.Reading.Allow))
	for i, h := range a.cfg.Backend.Reading.Allow {
		allow[i] = engine.AllowedHost{Host: h.Host, Paths: h.Paths}
	}
	reader := &engine.URLReader{MaxBytes: authz.MaxPolicyBytes, Allow: allow}
	base := strings.TrimRight(a.cfg.Backend.BaseURL, "/")
	if base == "" {
		return reader.Read, nil
	}
	gitDir, err := filepath.Abs(filepath.Join(a.cfg.Atrium.DataDir, "git"))
	if err != nil {
		return nil, fmt.Errorf("policy URLs: %w", err)
	}
	own := (&actions.GitHost{Dir: gitDir, BaseURL: base}).Handler()
	return func(ctx context.Context, u string) ([]byte, error) {
		if !strings.HasPrefix(u, base+"/git/") {
			return reader.Read(ctx, u)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, fault.Wrap(fault.Invalid, err, "%q is not a valid URL", u)
		}
		w := &memoryResponse{header: http.Header{}, limit: authz.MaxPolicyBytes}
		own.ServeHTTP(w, req)
		switch {
		case w.status == http.StatusNotFound:
			return nil, fault.New(fault.NotFound, "%s does not exist on the embedded git host", u)
		case w.status != 0 && w.status != http.StatusOK:
			return nil, fault.New(fault.Unavailable, "cannot read %s from the embedded git host: HTTP %d", u, w.status)
		}
		return w.body.Bytes(), nil
	}, nil
}

// memoryResponse collects an in-process answer, keeping at most limit+1
// bytes of its body (enough to tell that it is too large).
type memoryResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
	limit  int
}

func (m *memoryResponse) Header() http.Header { return m.header }

func (m *memoryResponse) WriteHeader(code int) {
	if m.status == 0 {
		m.status = code
	}
}

func (m *memoryResponse) Write(p []byte) (int, error) {
	m.WriteHeader(http.StatusOK)
	if room := m.limit + 1 - m.body.Len(); room > 0 {
		m.body.Write(p[:min(len(p), room)])
	}
	return len(p), nil
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
