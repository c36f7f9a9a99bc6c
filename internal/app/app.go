// Package app is Atrium's one wiring point: it builds the store, the catalog
// engine and the web server from a configuration, runs them, and shuts them
// down. End-to-end tests start exactly this, on 127.0.0.1:0.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/atrium-portal/atrium/internal/audit"
	"github.com/atrium-portal/atrium/internal/authz"
	"github.com/atrium-portal/atrium/internal/backup"
	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/config"
	"github.com/atrium-portal/atrium/internal/demo"
	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/heavy"
	"github.com/atrium-portal/atrium/internal/jobs"
	"github.com/atrium-portal/atrium/internal/metrics"
	"github.com/atrium-portal/atrium/internal/operations"
	"github.com/atrium-portal/atrium/internal/pluginhost"
	"github.com/atrium-portal/atrium/internal/scaffolder"
	"github.com/atrium-portal/atrium/internal/scaffolder/actions"
	"github.com/atrium-portal/atrium/internal/secrets"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/tracing"
	"github.com/atrium-portal/atrium/internal/web"
	"github.com/atrium-portal/atrium/internal/web/api"
	"github.com/atrium-portal/atrium/plugin"
)

// Options are what New needs besides the configuration.
type Options struct {
	// Logger receives every log line; nil means JSON on stderr.
	Logger *slog.Logger
	// Listener, when set, is served instead of listening on
	// backend.listen.
	Listener net.Listener
	// NoServer builds the store and the engine only, for tools such as
	// `atrium catalog import`; Run must not be called.
	NoServer bool
	// Plugins are plugins to use besides the built-ins, such as external
	// plugins started by the caller (rpc.Start); they are provisioned,
	// validated and wired like built-ins, and listed as external.
	Plugins []plugin.Plugin
	// Role is what this replica does (RoleAll when empty): RoleAPI serves
	// requests only, RoleWorker does the background work only.
	Role string
	// Version is the running build's version, recorded in backups and
	// metrics ("devel" when empty).
	Version string
}

// App is a running Atrium: store, engine and HTTP server.
type App struct {
	cfg    *config.Config
	log    *slog.Logger
	store  store.Driver
	engine *engine.Engine
	// memEngine is engine for the memory limit's loop, which starts
	// before it exists (applyMemoryLimit).
	memEngine atomic.Pointer[engine.Engine]
	// catalog is the engine behind the permission policy (authz), which
	// every request goes through.
	catalog engine.Catalog
	authz   *authz.Authorizer
	http    *http.Server
	ln      net.Listener

	cleanup []func() error
	// server is the HTTP handler, kept for Routes.
	server *web.Server
	// background loops run alongside the server (session expiry, ...).
	background []func(ctx context.Context) error
	// audit is the audit log; secrets redacts secret values; vault
	// resolves ${vault:…} references (nil without any).
	audit   *audit.Log
	secrets *secrets.Registry
	vault   *secrets.Vault
	// live keeps the consumers of rotated secrets current; refresher
	// re-resolves the references (nil without any).
	live      *secrets.Live
	refresher *secrets.Refresher
	// version is Options.Version; metrics the Prometheus registry and
	// metricsAddr its separate listener (atrium.metrics.listen).
	version     string
	metrics     *metrics.Registry
	metricsAddr net.Addr

	// role is Options.Role, checked.
	role string
	// backupQueue queues backups started through the API (nil when the
	// store offers no job queue).
	backupQueue interface {
		Enqueue(ctx context.Context, runID int64) error
	}
	// backupSchedule inserts the scheduled backups' jobs (scheduleBackups).
	backupSchedule *backup.Schedule
	// jobQueues are the queues the services work on the one River
	// client (startJobs).
	jobQueues []jobs.Queue
	// folders reads folders at URLs (the git host, manifests), for
	// fetch:* and for TechDocs of url locations (set by scaffolder).
	folders actions.Deps
	// scaffolderSvc runs software templates.
	scaffolderSvc *scaffolder.Service
	// operationsSvc keeps long-running external work.
	operationsSvc *operations.Service
	closeOnce     sync.Once
	closeErr      error

	// pluginHost runs the external plugins (pluginhost.go).
	pluginHost *pluginhost.Host

	// pluginSet holds the plugins (plugins.go); extraPlugins are
	// Options.Plugins.
	pluginSet    pluginSet
	extraPlugins []plugin.Plugin

	// heavy bounds heavy operations (limits.go).
	heavy *heavy.Limiter
	// tracer exports traces (tracing.go); nil without atrium.tracing.
	tracer *tracing.Provider
}

// New opens the store, applies migrations, builds the engine and the web
// server, and binds the listening socket (so Addr is known before Run).
// On error everything opened so far is closed.
func New(ctx context.Context, cfg *config.Config, opts Options) (_ *App, err error) {
	a := &App{cfg: cfg, log: opts.Logger, version: opts.Version, extraPlugins: opts.Plugins}
	if a.version == "" {
		a.version = "devel"
	}
	if a.role, err = checkRole(opts.Role); err != nil {
		return nil, err
	}
	if a.log == nil {
		a.log = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	defer func() {
		if err != nil {
			_ = a.Close()
		}
	}()
	a.initSecrets(ctx)
	if err = a.startTracing(ctx); err != nil {
		return nil, err
	}
	for _, w := range cfg.Warnings {
		a.log.Warn("configuration", "warning", w)
	}
	a.applyMemoryLimit()

	if a.store, err = a.openStore(ctx); err != nil {
		return nil, err
	}
	a.cleanup = append(a.cleanup, a.store.Close)
	if err = a.store.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("migrating the %s database: %w", a.store.Engine(), err)
	}
	a.audit = a.newAuditLog()

	ecfg, err := a.engineConfig()
	if err != nil {
		return nil, err
	}
	a.traceStore(&ecfg)
	if err = a.observeReads(&ecfg); err != nil {
		return nil, err
	}
	if a.engine, err = engine.New(ecfg); err != nil {
		return nil, err
	}
	a.cleanup = append(a.cleanup, a.engine.Close)
	a.memEngine.Store(a.engine)

	if opts.NoServer {
		return a, nil
	}
	if err = a.authorize(); err != nil {
		return nil, err
	}
	lim := cfg.Atrium.Limits
	catalogAPI := api.New(api.Params{
		Catalog:  a.catalog,
		Readonly: cfg.Catalog.Readonly,
		Limits: api.Limits{
			DefaultPageSize: lim.DefaultPageSize,
			MaxPageSize:     lim.MaxPageSize,
			MaxRefs:         lim.MaxRefsPerRequest,
			StreamPageSize:  lim.StreamPageSize,
		},
	})
	portal, err := a.portal()
	if err != nil {
		return nil, err
	}
	authn, err := a.authenticator(opts.Listener, portal)
	if err != nil {
		return nil, err
	}
	security, auditAPI, err := a.security()
	if err != nil {
		return nil, err
	}
	if err = a.startPluginHost(ctx); err != nil {
		return nil, err
	}
	a.operationsSvc = a.newOperations()
	scaffolderRoutes, err := a.scaffolder(ctx)
	if err != nil {
		return nil, err
	}
	metricsRoutes, err := a.observe()
	if err != nil {
		return nil, err
	}
	if a.heavy, err = a.heavyLimiter(); err != nil {
		return nil, err
	}
	if err = a.scheduleBackups(); err != nil {
		return nil, err
	}
	if err = a.startJobs(ctx); err != nil {
		return nil, err
	}
	taskRoutes, err := a.taskPages(portal)
	if err != nil {
		return nil, err
	}
	createRoutes, err := a.createPages(portal)
	if err != nil {
		return nil, err
	}
	srv := web.NewServer(web.Params{
		Logger:          a.log,
		DB:              a.store,
		Loading:         a.loading(time.Now()),
		Security:        security,
		Routes:          []func(web.Mux){catalogAPI.Register, portal.Routes, authn.Routes, portal.GraphRoutes, a.docs(portal).Routes, a.auditRoutes(auditAPI, portal), a.permissionRoutes(portal), scaffolderRoutes, a.pluginHostRoutes(portal), taskRoutes, metricsRoutes, a.operationsRoutes(portal), a.operationRoutes(portal), createRoutes, a.pluginRoutes},
		Public:          append(append(portal.PublicRoutes(), authn.PublicRoutes()...), eventsRoute),
		Authenticate:    authn.Middleware,
		ErrorPage:       portal.ErrorPage,
		MaxRequestBytes: lim.MaxRequestBytes,
		RequestTimeout:  lim.RequestTimeout,
		MaxHeaderBytes:  lim.MaxHeaderBytes,
		Metrics:         a.metrics,
		Heavy:           heavyMiddleware(a.heavy),
		Trace:           a.traceRequests(),
	})
	a.http = srv.HTTPServer()
	if a.role == RoleWorker {
		a.http.Handler = workerOnly(a.http.Handler)
	}
	a.server = srv

	a.ln = opts.Listener
	if a.ln == nil {
		if a.ln, err = net.Listen("tcp", cfg.Backend.Listen.Addr()); err != nil {
			return nil, fmt.Errorf("listening on %s (backend.listen): %w", cfg.Backend.Listen.Addr(), err)
		}
	}
	if cfg.Backend.HTTPS.Enabled {
		if a.ln, err = a.tlsListener(a.ln); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// orOff maps a configured 0 (off) to the engine's negative (off); the
// engine reads 0 as its default.
func orOff[T time.Duration | int64](v T) T {
	if v == 0 {
		return -1
	}
	return v
}

// warmAfter is the engine's EntityCacheWarmAfter for atrium.cache.warm:
// its default, or never.
func warmAfter(warm bool) time.Duration {
	if warm {
		return 0
	}
	return -1
}

// engineConfig translates the configuration for the catalog engine, writing
// the demo catalog first when it is enabled.
func (a *App) engineConfig() (engine.Config, error) {
	cfg := a.cfg
	ec := engine.Config{
		Store:                a.store,
		Cluster:              clusterFor(a.store),
		OrphanStrategy:       cfg.Catalog.OrphanStrategy,
		ProcessingInterval:   cfg.Catalog.ProcessingInterval,
		AllowedLocationTypes: cfg.Atrium.AllowedLocationTypes,
		Logger:               a.log,
		ReadCacheMaxAge:      orOff(cfg.Atrium.Cache.MaxAge),
		EntityCacheBytes:     orOff(cfg.Atrium.Cache.Entities),
		EntityCacheWarmAfter: warmAfter(cfg.Atrium.Cache.Warm),
		AnswerCacheBytes:     orOff(cfg.Atrium.Cache.Answers),
		Limits: engine.Limits{
			MaxEntitiesPerLocation: cfg.Atrium.Limits.MaxEntitiesPerLocation,
			MaxEntities:            cfg.Atrium.Limits.MaxEntities,
			MaxEntityBytes:         int(cfg.Atrium.Limits.MaxEntityBytes),
			Parse:                  catalog.Limits{MaxDocumentBytes: int(cfg.Atrium.Limits.MaxFileBytes)},
		},
	}
	if cfg.Catalog.ProcessingDisabled {
		ec.ProcessingInterval = -1
	}
	if cfg.Catalog.RulesSet {
		rules, err := convertRules(cfg.Catalog.Rules)
		if err != nil {
			return ec, fmt.Errorf("catalog.%w", err)
		}
		ec.Rules = &rules
	}
	allow := make([]engine.AllowedHost, len(cfg.Backend.Reading.Allow))
	for i, h := range cfg.Backend.Reading.Allow {
		allow[i] = engine.AllowedHost{Host: h.Host, Paths: h.Paths}
	}
	maxFile := cfg.Atrium.Limits.MaxFileBytes
	ec.Readers = map[string]engine.Reader{
		"file": &engine.FileReader{MaxBytes: maxFile},
		"url":  &pluginURLReader{set: &a.pluginSet, next: &engine.URLReader{MaxBytes: maxFile, Allow: allow}, log: a.log},
	}
	for i, l := range cfg.Catalog.Locations {
		sl := engine.StaticLocation{Type: l.Type, Target: l.Target}
		if l.RulesSet {
			rules, err := convertRules(l.Rules)
			if err != nil {
				return ec, fmt.Errorf("catalog.locations[%d].%w", i, err)
			}
			sl.Rules = &rules
		}
		ec.StaticLocations = append(ec.StaticLocations, sl)
	}
	if cfg.Atrium.Demo {
		dir := filepath.Join(cfg.Atrium.DataDir, "demo")
		if err := demo.Write(dir); err != nil {
			return ec, fmt.Errorf("writing the demo catalog to %s: %w", dir, err)
		}
		abs, err := filepath.Abs(filepath.Join(dir, demo.RootFile))
		if err != nil {
			return ec, err
		}
		ec.StaticLocations = append(ec.StaticLocations, engine.StaticLocation{Type: "file", Target: abs})
	}
	return ec, nil
}

func convertRules(in []config.Rule) (catalog.Rules, error) {
	rules := make([]catalog.Rule, len(in))
	for i, r := range in {
		rules[i].Allow = r.Allow
		for _, l := range r.Locations {
			rules[i].Locations = append(rules[i].Locations, catalog.RuleLocation{Type: l.Type, Exact: l.Exact, Pattern: l.Pattern})
		}
	}
	return catalog.NewRules(rules)
}

// Addr returns the address the server listens on (nil with NoServer).
func (a *App) Addr() net.Addr {
	if a.ln == nil {
		return nil
	}
	return a.ln.Addr()
}

// Store returns the store, for tools and tests that inspect it.
func (a *App) Store() store.Driver { return a.store }

// Engine returns the catalog engine.
func (a *App) Engine() *engine.Engine { return a.engine }

// Ready is closed once the configured locations have been processed once.
func (a *App) Ready() <-chan struct{} { return a.engine.Ready() }

// Run serves HTTP and runs the engine until ctx is done or either fails,
// then shuts down gracefully within atrium.limits.shutdownTimeout.
func (a *App) Run(ctx context.Context) error {
	if a.http == nil {
		return errors.New("app: Run needs the HTTP server, which NoServer left out")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	a.runBackground(ctx)
	go func() {
		if err := a.engine.Follow(ctx); err != nil {
			a.log.Error("following other replicas' catalog changes", "err", err)
		}
	}()
	go func() {
		if a.role == RoleAPI {
			// Workers process locations; this replica serves what they store.
			a.engine.MarkReady()
			<-ctx.Done()
			errc <- nil
			return
		}
		if err := a.engine.Run(ctx); err != nil {
			errc <- fmt.Errorf("catalog engine: %w", err)
			return
		}
		errc <- nil
	}()
	go func() {
		if err := a.http.Serve(a.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("http server: %w", err)
			return
		}
		errc <- nil
	}()
	a.log.Info("atrium started", "addr", a.Addr().String(), "baseUrl", a.cfg.Backend.BaseURL,
		"database", a.store.Engine(), "config", a.cfg.Sources)

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	cancel()
	a.log.Info("atrium stopping")
	sctx, scancel := context.WithTimeout(context.Background(), a.shutdownTimeout())
	defer scancel()
	if err := a.http.Shutdown(sctx); err != nil {
		a.log.Warn("http shutdown", "error", err.Error())
		_ = a.http.Close()
	}
	return runErr
}

func (a *App) shutdownTimeout() time.Duration {
	if d := a.cfg.Atrium.Limits.ShutdownTimeout; d > 0 {
		return d
	}
	return 15 * time.Second
}

// Close releases everything New opened, in reverse order. It is safe to
// call more than once and after Run.
func (a *App) Close() error {
	a.closeOnce.Do(func() {
		if a.http != nil {
			_ = a.http.Close()
		}
		if a.ln != nil {
			_ = a.ln.Close()
		}
		var errs []error
		for i := len(a.cleanup) - 1; i >= 0; i-- {
			if err := a.cleanup[i](); err != nil {
				errs = append(errs, err)
			}
		}
		a.closeErr = errors.Join(errs...)
	})
	return a.closeErr
}
