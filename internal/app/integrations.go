package app

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/pluginhost/guard"
	"github.com/atrium-portal/atrium/internal/pluginhost/rpc"
	"github.com/atrium-portal/atrium/internal/secrets"
	"github.com/atrium-portal/atrium/internal/web"
	"github.com/atrium-portal/atrium/plugin"
)

// urlHandler is a built-in plugin that reads url locations of the hosts
// it is configured for, with its own credentials (GitLab's API with the
// instance's token). Those hosts need no backend.reading.allow entry: the
// operator named them in the plugin's configuration.
type urlHandler interface {
	HandlesURL(target string) bool
	ReadURL(ctx context.Context, target string) ([]byte, error)
}

// simulator is a built-in plugin serving a simulated external system at
// /sim/<id>/ in demo mode (nil when it has none).
type simulator interface {
	Simulator() http.Handler
}

// secretHolder is a built-in plugin holding credentials from its
// configuration (tokens given literally, not as ${env:…} references,
// which are registered already).
type secretHolder interface {
	SecretValues() []string
}

// registerPluginSecrets adds p's credentials to the values redacted from
// every log line.
func registerPluginSecrets(reg *secrets.Registry, p plugin.Plugin) {
	if s, ok := p.(secretHolder); ok && reg != nil {
		reg.Add(s.SecretValues()...)
	}
}

// pluginURLReader asks the running plugins' url handlers first and
// falls back to the plain URL reader (backend.reading.allow).
type pluginURLReader struct {
	set  *pluginSet
	next engine.Reader
	log  *slog.Logger
}

func (r *pluginURLReader) Read(ctx context.Context, target string) ([]byte, error) {
	r.set.mu.RLock()
	var (
		h  urlHandler
		id string
	)
	for _, lp := range r.set.list {
		if lp.status.State != PluginRunning {
			continue
		}
		u, ok := lp.p.(urlHandler)
		if !ok {
			continue
		}
		// A built-in's code, on the engine's goroutines: a panic fails
		// this read (the location's status says so), not Atrium.
		var handles bool
		_ = guard.Call(r.log, lp.status.ID, "HandlesURL", func() error { handles = u.HandlesURL(target); return nil })
		if handles {
			h, id = u, lp.status.ID
			break
		}
	}
	r.set.mu.RUnlock()
	if h == nil {
		return r.next.Read(ctx, target)
	}
	var data []byte
	err := guard.Call(r.log, id, "ReadURL", func() (err error) { data, err = h.ReadURL(ctx, target); return err })
	if err != nil {
		return nil, rpc.Fault(id, err)
	}
	return data, nil
}

// simulatorRoutes serves the demo's simulators at /sim/<plugin>/…,
// behind Atrium's login like every route.
func (a *App) simulatorRoutes(mux web.Mux) {
	mux.HandleFunc("/sim/", func(w http.ResponseWriter, r *http.Request) {
		id, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/sim/"), "/")
		a.pluginSet.mu.RLock()
		var h http.Handler
		for _, lp := range a.pluginSet.list {
			if s, ok := lp.p.(simulator); ok && lp.status.ID == id && lp.status.State == PluginRunning {
				h = s.Simulator()
			}
		}
		a.pluginSet.mu.RUnlock()
		if h == nil {
			web.WriteError(w, r, fault.New(fault.NotFound, "no simulator named %q runs here (simulators run in demo mode only)", id))
			return
		}
		h.ServeHTTP(w, r)
	})
}
