package pluginhost

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/atrium-portal/atrium/internal/audit"
	"github.com/atrium-portal/atrium/internal/auth"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/web"
)

// The permissions of the plugin admin page and API.
const (
	PermissionRead   = "atrium.admin.plugins.read"
	PermissionManage = "atrium.admin.plugins.manage"
)

// Authorizer decides whether the caller in ctx holds a permission.
type Authorizer interface {
	Authorize(ctx context.Context, permission string) (bool, error)
}

// API serves GET /api/plugins (health of every plugin and the registry's
// compatibility matrix) and POST /api/plugins/{id}/restart.
type API struct {
	Host       *Host
	Authorizer Authorizer
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Register adds the routes.
func (a *API) Register(mux web.Mux) {
	mux.HandleFunc("GET /api/plugins", a.list)
	mux.HandleFunc("POST /api/plugins/{id}/restart", a.restart)
}

// allowed answers 401 or 403 unless the caller holds perm.
func allowed(w http.ResponseWriter, r *http.Request, az Authorizer, perm, doing string) bool {
	p := auth.PrincipalFrom(r.Context())
	if p == nil || p.Type == auth.PrincipalNone {
		web.WriteError(w, r, fault.New(fault.Unauthorized, "%s needs a signed-in user or a token", doing))
		return false
	}
	ok, err := az.Authorize(r.Context(), perm)
	if err != nil {
		web.WriteError(w, r, err)
		return false
	}
	if !ok {
		web.WriteError(w, r, fault.New(fault.Forbidden, "%s needs the %s permission", doing, perm))
		return false
	}
	return true
}

// Overview is the answer of GET /api/plugins.
type Overview struct {
	// APIVersion is this Atrium's plugin-API version; Platform its
	// platform key in the index.
	APIVersion string       `json:"apiVersion"`
	Platform   string       `json:"platform"`
	Plugins    []Stats      `json:"plugins"`
	Registry   RegistryView `json:"registry"`
}

// RegistryView is the registry as the admin page shows it.
type RegistryView struct {
	Source string `json:"source,omitempty"`
	// Error says why the index could not be read.
	Error   string           `json:"error,omitempty"`
	Plugins []RegistryPlugin `json:"plugins"`
}

// RegistryPlugin is one plugin of the index with what this Atrium makes
// of it.
type RegistryPlugin struct {
	ID            string    `json:"id"`
	Description   string    `json:"description,omitempty"`
	Maintainer    string    `json:"maintainer,omitempty"`
	Licence       string    `json:"licence,omitempty"`
	Homepage      string    `json:"homepage,omitempty"`
	LatestVersion string    `json:"latestVersion"`
	LastRelease   time.Time `json:"lastRelease"`
	// Unmaintained is set when there was no release within
	// atrium.pluginHost.unmaintainedAfter.
	Unmaintained bool `json:"unmaintained"`
	// Installed is the installed version, if any; Compatible the newest
	// version that would install here.
	Installed  string `json:"installed,omitempty"`
	Compatible string `json:"compatible,omitempty"`
	Matrix     Matrix `json:"matrix"`
}

// Overview gathers the plugins' health and the registry view.
func (h *Host) Overview(ctx context.Context, now time.Time) Overview {
	o := Overview{APIVersion: h.o.API.String(), Platform: Platform, Plugins: h.Stats()}
	o.Registry.Source = h.o.Registry
	o.Registry.Plugins = []RegistryPlugin{}
	if h.o.Registry == "" {
		o.Registry.Error = "no plugin registry is configured (atrium.pluginHost.registry)"
		return o
	}
	idx, err := h.Registry(ctx)
	if err != nil {
		o.Registry.Error = err.Error()
		return o
	}
	installed := map[string]string{}
	for _, st := range o.Plugins {
		if st.Kind == "external" {
			installed[st.ID] = st.Version
		}
	}
	for i := range idx.Plugins {
		e := &idx.Plugins[i]
		rp := RegistryPlugin{ID: e.ID, Description: e.Description, Maintainer: e.Maintainer, Licence: e.Licence,
			Homepage: e.Homepage, LastRelease: e.LatestRelease(), Unmaintained: e.Unmaintained(now, h.o.UnmaintainedAfter),
			Installed: installed[e.ID], Matrix: MatrixFor(e, h.o.API, Platform)}
		if len(e.Versions) > 0 {
			rp.LatestVersion = e.Versions[0].Version
		}
		if c := e.Compatible(h.o.API, Platform); len(c) > 0 {
			rp.Compatible = c[0].Version
		}
		o.Registry.Plugins = append(o.Registry.Plugins, rp)
	}
	return o
}

func (a *API) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *API) list(w http.ResponseWriter, r *http.Request) {
	if !allowed(w, r, a.Authorizer, PermissionRead, "reading the plugins' health") {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	web.WriteJSON(w, http.StatusOK, a.Host.Overview(ctx, a.now()))
}

// restart starts a fresh process of an installed plugin: after a fix to
// whatever made it crash, without waiting for the circuit breaker.
func (a *API) restart(w http.ResponseWriter, r *http.Request) {
	if !allowed(w, r, a.Authorizer, PermissionManage, "restarting a plugin") {
		return
	}
	id := r.PathValue("id")
	s, ok := a.Host.Plugin(id)
	if !ok {
		web.WriteError(w, r, fault.New(fault.NotFound, "no external plugin %q is installed", id))
		return
	}
	st := s.Stats()
	if st.State == StateDisabled {
		web.WriteError(w, r, fault.New(fault.Conflict, "plugin %s is disabled by atrium.pluginHost.plugins.%s.disabled", id, id))
		return
	}
	if err := auditedRestart(r.Context(), s); err != nil {
		web.WriteError(w, r, fault.Wrap(fault.Unavailable, err, "plugin %s did not start: %v", id, err))
		return
	}
	web.WriteJSON(w, http.StatusOK, s.Stats())
}

// auditedRestart restarts s on an operator's request and records it
// (plugin.restart) with its outcome, as the caller in ctx.
func auditedRestart(ctx context.Context, s *Supervisor) error {
	err := s.Restart(ctx)
	ev := audit.Event{Action: "plugin.restart", Resource: "plugin:" + s.id, Outcome: audit.Succeeded,
		Details: map[string]any{"version": s.Stats().Version}}
	if err != nil {
		ev.Outcome = audit.Failed
		ev.Details["error"] = err.Error()
	}
	if aerr := audit.Record(context.WithoutCancel(ctx), ev); aerr != nil && !errors.Is(aerr, audit.ErrNoLog) {
		return errors.Join(err, aerr)
	}
	return err
}

// Restart starts a fresh process: a swap when running, a start (with the
// breaker reset) when down.
func (s *Supervisor) Restart(ctx context.Context) error {
	s.mu.Lock()
	running := s.cur != nil
	if !running {
		s.failures = 0
		s.breaker = BreakerClosed
		if s.timer != nil {
			s.timer.Stop()
		}
		s.nextRestart = time.Time{}
	}
	s.mu.Unlock()
	if running {
		renewed, err := s.renew(ctx, nil)
		if err != nil {
			return err
		}
		if renewed {
			s.mu.Lock()
			s.restarts++
			s.mu.Unlock()
			return nil
		}
	}
	return s.Start(ctx)
}
