// Package engine is Atrium's catalog engine: it ingests entities from
// providers and locations, processes them (placeholders, validation, rules,
// relations), writes what changed through a store.Driver, handles orphans
// and conflicts, and stitches stored records back into API entities.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/plugin"
)

var _ Catalog = (*Engine)(nil)

// The orphan strategies (catalog.orphanStrategy).
const (
	OrphanDelete = "delete"
	OrphanKeep   = "keep"
)

// OriginBootstrap is the origin annotation of entities that come from the
// static locations of the configuration.
const OriginBootstrap = "bootstrap:bootstrap"

// Limits bound what ingestion accepts. A zero field means its default.
type Limits struct {
	// MaxEntitiesPerLocation is the most entities one Location entity may
	// emit (all its targets together). Default 10000.
	MaxEntitiesPerLocation int
	// MaxEntityBytes is the largest processed entity, in bytes of JSON.
	// Default 1 MiB.
	MaxEntityBytes int
	// Parse bounds descriptor parsing (file size, documents, depth, aliases).
	Parse catalog.Limits
	// MaxLocationDepth is how deep Location entities may nest. Default 8.
	MaxLocationDepth int
	// MaxEntities bounds the whole catalog; 0 means no limit (growth.go).
	MaxEntities int
}

// DefaultLimits returns the limits used when none are configured.
func DefaultLimits() Limits {
	return Limits{
		MaxEntitiesPerLocation: 10000,
		MaxEntityBytes:         1 << 20,
		Parse:                  catalog.DefaultLimits(),
		MaxLocationDepth:       8,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxEntitiesPerLocation <= 0 {
		l.MaxEntitiesPerLocation = d.MaxEntitiesPerLocation
	}
	if l.MaxEntityBytes <= 0 {
		l.MaxEntityBytes = d.MaxEntityBytes
	}
	if l.MaxLocationDepth <= 0 {
		l.MaxLocationDepth = d.MaxLocationDepth
	}
	p, dp := l.Parse, d.Parse
	if p.MaxDocumentBytes <= 0 {
		p.MaxDocumentBytes = dp.MaxDocumentBytes
	}
	if p.MaxDocuments <= 0 {
		p.MaxDocuments = dp.MaxDocuments
	}
	if p.MaxDepth <= 0 {
		p.MaxDepth = dp.MaxDepth
	}
	if p.MaxNodes <= 0 {
		p.MaxNodes = dp.MaxNodes
	}
	l.Parse = p
	return l
}

// StaticLocation is a location from the configuration (catalog.locations).
type StaticLocation struct {
	Type   string
	Target string
	// Rules, when set, replace the global rules for entities that originate
	// from this location.
	Rules *catalog.Rules
}

// Config is what an Engine needs.
type Config struct {
	Store store.Driver
	// Rules are the global catalog rules; nil means catalog.DefaultRules().
	Rules *catalog.Rules
	// StaticLocations are read by the built-in config provider. Relative
	// file targets are resolved against BaseDir.
	StaticLocations []StaticLocation
	// OrphanStrategy is OrphanDelete (default) or OrphanKeep.
	OrphanStrategy string
	// ProcessingInterval is the minimum time between refreshes of the
	// built-in providers; each wait is randomised up to 1.5 times it. Zero
	// means the default (100 s, so 100–150 s); negative disables it.
	ProcessingInterval time.Duration
	Limits             Limits
	// AllowedLocationTypes are the types AddLocation accepts; default ["url"].
	AllowedLocationTypes []string
	// Readers read location targets, by location type. Nil means a
	// FileReader for "file" and a URLReader (no hosts allowed) for "url".
	Readers map[string]Reader
	// BaseDir resolves relative static file targets; "" is the working dir.
	BaseDir string
	// Workers is how many goroutines read, parse and process descriptors;
	// 0 means GOMAXPROCS.
	Workers int
	Logger  *slog.Logger
	Now     func() time.Time
	// ReadCacheMaxAge bounds how long cached facet counts are served
	// while nothing is written through this engine (0: the default, 5 s;
	// negative: no cache). Writes through the engine invalidate at once;
	// the age bounds staleness after another replica writes.
	ReadCacheMaxAge time.Duration
	// EntityCacheBytes is the budget of the cache of final entity JSON
	// served by lookups by ref and uid (0: DefaultEntityCacheBytes;
	// negative: no cache). Its entries are served while a read of the
	// database's change log at most ReadCacheMaxAge old finds no change.
	EntityCacheBytes int64
	// EntityCacheWarmAfter is how long the catalog must be quiet before
	// the entity cache is filled with every entity, up to its budget (0:
	// DefaultEntityCacheWarmAfter; negative: never, it fills on misses).
	EntityCacheWarmAfter time.Duration
	// AnswerCacheBytes is the budget of the cache of read answers: facet
	// counts, list totals and pages, as the API serves them (0:
	// DefaultAnswerCacheBytes; negative: no cache). Its entries follow
	// ReadCacheMaxAge.
	AnswerCacheBytes int64
	// Processors are plugins' processors: each validates or enriches every
	// valid entity after Atrium's own checks (see plugin_processor.go).
	Processors []plugin.Processor
	// Cluster connects replicas sharing the database; nil for one process.
	Cluster Cluster
}

// Engine is the catalog engine. Create it with New, add providers, then Run.
type Engine struct {
	store    store.Driver
	rules    catalog.Rules
	limits   Limits
	orphans  string
	interval time.Duration
	allowed  []string
	readers  map[string]Reader
	baseDir  string
	workers  int
	log      *slog.Logger
	now      func() time.Time

	static      []staticLocation
	staticByKey map[string]*staticLocation

	// mu serialises passes: one writer at a time keeps state reads and
	// writes consistent.
	mu sync.Mutex
	// locMu keeps the registered locations and the database provider's
	// bucket in step: a full mutation built from an older list must not
	// undo a registration or resurrect an unregistered location.
	locMu sync.Mutex

	provMu    sync.Mutex
	providers []Provider
	// leadCtx is the context of runLeading while this engine leads
	// (nil otherwise); providers added then connect at once under a
	// child context whose cancel is in connected.
	leadCtx   context.Context
	connected map[string]*connectedProvider
	// processors are plugins' processors, run on every valid entity
	// (plugin_processor.go); copied on write, so that plugins added or
	// removed while Atrium runs do not disturb a pass in progress.
	processors atomic.Pointer[[]plugin.Processor]
	running    bool

	subs     subscribers
	cluster  Cluster
	leading  atomic.Bool  // Run is processing locations (cluster.go)
	cs       *cachedStore // the same as store, for its generation
	ents     *entityCache
	valid    *cacheValidity // nil: the entity cache is off
	cache    fileCache
	counters counters

	ready     chan struct{}
	readyOnce sync.Once
	wg        sync.WaitGroup
	closed    chan struct{}
	closeOnce sync.Once
}

type staticLocation struct {
	loc   catalog.LocationRef
	rules *catalog.Rules
}

// New checks cfg and returns an engine.
func New(cfg Config) (*Engine, error) {
	if cfg.Store == nil {
		return nil, errors.New("engine: a store is required")
	}
	e := &Engine{
		store:       newCachedStore(cfg.Store, readCacheMaxAge(cfg.ReadCacheMaxAge), answerCacheBytes(cfg.AnswerCacheBytes), cfg.Now),
		limits:      cfg.Limits.withDefaults(),
		orphans:     cfg.OrphanStrategy,
		interval:    cfg.ProcessingInterval,
		allowed:     cfg.AllowedLocationTypes,
		readers:     cfg.Readers,
		baseDir:     cfg.BaseDir,
		workers:     cfg.Workers,
		log:         cfg.Logger,
		now:         cfg.Now,
		staticByKey: map[string]*staticLocation{},
		ready:       make(chan struct{}),
		closed:      make(chan struct{}),
	}
	e.cs = e.store.(*cachedStore)
	procs := slices.Clone(cfg.Processors)
	e.processors.Store(&procs)
	if cfg.Cluster != nil {
		e.cluster = cfg.Cluster
		e.startPublisher()
	}
	e.ents = newEntityCache(entityCacheBytes(cfg.EntityCacheBytes))
	if maxAge := readCacheMaxAge(cfg.ReadCacheMaxAge); e.ents.enabled() && maxAge > 0 {
		e.valid = newCacheValidity(e.cs.Driver, maxAge, cfg.Now, e.cs.invalidate)
		warmAfter := cfg.EntityCacheWarmAfter
		if warmAfter == 0 {
			warmAfter = DefaultEntityCacheWarmAfter
		}
		e.wg.Go(func() { e.cacheLoop(warmAfter) })
	}
	if cfg.Rules != nil {
		e.rules = *cfg.Rules
	} else {
		e.rules = catalog.DefaultRules()
	}
	switch e.orphans {
	case "":
		e.orphans = OrphanDelete
	case OrphanDelete, OrphanKeep:
	default:
		return nil, fmt.Errorf("engine: orphan strategy %q is not one of %q, %q", e.orphans, OrphanKeep, OrphanDelete)
	}
	if e.interval == 0 {
		e.interval = 100 * time.Second
	}
	if len(e.allowed) == 0 {
		e.allowed = []string{"url"}
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.workers <= 0 {
		e.workers = runtime.GOMAXPROCS(0)
	}
	if e.baseDir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("engine: working directory: %w", err)
		}
		e.baseDir = wd
	}
	if e.readers == nil {
		// Readers also serve placeholders, whose API definitions may be
		// larger than descriptors; parsing enforces the descriptor limit.
		limit := int64(max(e.limits.Parse.MaxDocumentBytes, catalog.MaxPlaceholderBytes))
		e.readers = map[string]Reader{
			"file": &FileReader{MaxBytes: limit},
			"url":  &URLReader{MaxBytes: limit},
		}
	}
	for i, sl := range cfg.StaticLocations {
		loc, err := e.staticRef(sl)
		if err != nil {
			return nil, fmt.Errorf("engine: catalog.locations[%d]: %w", i, err)
		}
		if _, dup := e.staticByKey[loc.String()]; dup {
			return nil, fmt.Errorf("engine: catalog.locations[%d]: %s is listed twice", i, loc)
		}
		e.static = append(e.static, staticLocation{loc: loc, rules: sl.Rules})
	}
	for i := range e.static {
		e.staticByKey[e.static[i].loc.String()] = &e.static[i]
	}
	e.providers = e.newLocationProviders()
	return e, nil
}

// staticRef validates a static location and makes file targets absolute.
func (e *Engine) staticRef(sl StaticLocation) (catalog.LocationRef, error) {
	if sl.Type == "" {
		return catalog.LocationRef{}, errors.New("type: required")
	}
	if sl.Target == "" {
		return catalog.LocationRef{}, errors.New("target: required")
	}
	if _, ok := e.readers[sl.Type]; !ok {
		return catalog.LocationRef{}, fmt.Errorf("type: no reader for location type %q", sl.Type)
	}
	target := sl.Target
	if sl.Type == "file" && !filepath.IsAbs(target) {
		target = filepath.Join(e.baseDir, target)
	}
	if sl.Type == "file" {
		target = filepath.Clean(target)
	}
	return catalog.LocationRef{Type: sl.Type, Target: target}, nil
}

// AddProvider registers an entity provider. Added while this engine leads
// catalog processing, it connects at once; otherwise it connects when Run
// (or the next lead, in a cluster) starts.
func (e *Engine) AddProvider(p Provider) error {
	e.provMu.Lock()
	defer e.provMu.Unlock()
	if e.isBuiltin(p) {
		// The built-in plugin that lists the engine's own providers
		// wires them like any plugin's: they are registered already.
		return nil
	}
	for _, q := range e.providers {
		if q.Name() == p.Name() {
			return fmt.Errorf("engine: a provider named %q is already registered", p.Name())
		}
	}
	e.providers = append(e.providers, p)
	if e.leadCtx != nil {
		e.connectLocked(e.leadCtx, p)
	}
	return nil
}

// RemoveProvider unregisters the provider name and stops it, waiting until
// its Connect returned (or ctx is done). The entities it provided stay in
// the catalog. Removing an unknown provider is an error.
func (e *Engine) RemoveProvider(ctx context.Context, name string) error {
	e.provMu.Lock()
	i := slices.IndexFunc(e.providers, func(p Provider) bool { return p.Name() == name })
	if i < 0 {
		e.provMu.Unlock()
		return fmt.Errorf("engine: no provider named %q is registered", name)
	}
	if e.isBuiltin(e.providers[i]) {
		e.provMu.Unlock()
		return fmt.Errorf("engine: provider %q is built in and cannot be removed", name)
	}
	e.providers = slices.Delete(e.providers, i, i+1)
	c := e.connected[name]
	delete(e.connected, name)
	e.provMu.Unlock()
	if c == nil {
		return nil
	}
	c.cancel()
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("engine: provider %q did not stop: %w", name, ctx.Err())
	}
}

// connectedProvider is a non-built-in provider connected by runLeading.
type connectedProvider struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// connectLocked connects p on its own goroutine under a child of ctx;
// e.provMu is held.
func (e *Engine) connectLocked(ctx context.Context, p Provider) {
	pctx, cancel := context.WithCancel(ctx)
	c := &connectedProvider{cancel: cancel, done: make(chan struct{})}
	if e.connected == nil {
		e.connected = map[string]*connectedProvider{}
	}
	e.connected[p.Name()] = c
	e.wg.Go(func() {
		defer close(c.done)
		defer cancel()
		if err := p.Connect(pctx, &connection{e: e, name: p.Name()}); err != nil && pctx.Err() == nil {
			e.log.Error("catalog provider failed to connect", "provider", p.Name(), "err", err)
		}
	})
}

// Ready is closed once the first processing of the built-in providers (the
// static and the registered locations) has finished.
func (e *Engine) Ready() <-chan struct{} { return e.ready }

// Run connects every provider, processes the static and registered
// locations, then refreshes them periodically. It returns when ctx is done.
// Providers added with AddProvider connect on their own goroutines; their
// Connect should return soon and leave long work to goroutines that stop
// when its context is done.
func (e *Engine) Run(ctx context.Context) error {
	e.provMu.Lock()
	if e.running {
		e.provMu.Unlock()
		return errors.New("engine: Run called twice")
	}
	e.running = true
	e.provMu.Unlock()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-e.closed:
			cancel()
		case <-ctx.Done():
		}
	}()

	for {
		lctx, release, err := e.lead(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("engine: waiting to lead catalog processing: %w", err)
		}
		e.leading.Store(true)
		err = e.runLeading(lctx)
		e.leading.Store(false)
		release()
		if err != nil || ctx.Err() != nil || e.cluster == nil {
			return err
		}
		e.log.Warn("lost the lead of catalog processing (database connection broken); waiting to lead again")
	}
}

// runLeading connects the providers, processes the locations once (Ready)
// and then refreshes them periodically until ctx is done: the work one
// replica does for all.
func (e *Engine) runLeading(ctx context.Context) error {
	// The built-in providers (static and registered locations) are the
	// initial ingest that Ready waits for; other providers connect on their
	// own goroutines so a slow one delays nobody. Those added while this
	// engine leads connect in AddProvider.
	e.provMu.Lock()
	providers := slices.Clone(e.providers)
	for _, p := range providers {
		if !e.isBuiltin(p) {
			e.connectLocked(ctx, p)
		}
	}
	e.leadCtx = ctx
	e.provMu.Unlock()
	defer func() {
		e.provMu.Lock()
		e.leadCtx = nil
		for _, c := range e.connected {
			c.cancel()
		}
		e.connected = nil
		e.provMu.Unlock()
	}()
	_ = e.timedPass(func() error {
		var errs []error
		for _, p := range providers {
			if !e.isBuiltin(p) {
				continue
			}
			if err := p.Connect(ctx, &connection{e: e, name: p.Name()}); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				e.log.Error("catalog provider failed to connect", "provider", p.Name(), "err", err)
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	})
	if ctx.Err() != nil {
		return nil
	}
	e.readyOnce.Do(func() { close(e.ready) })

	if e.interval < 0 {
		<-ctx.Done()
		return nil
	}
	for {
		wait := e.interval + rand.N(e.interval/2+1)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		if err := e.timedPass(func() error { return e.RefreshAll(ctx) }); err != nil && ctx.Err() == nil {
			e.log.Error("catalog refresh failed", "err", err)
		}
	}
}

// RefreshAll reprocesses the static and the registered locations now.
func (e *Engine) RefreshAll(ctx context.Context) error {
	var errs []error
	for _, p := range e.builtinProviders() {
		if err := p.Connect(ctx, &connection{e: e, name: p.Name()}); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p.Name(), err))
		}
	}
	return errors.Join(errs...)
}

// Close stops Run and waits for background work. It does not close the store.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() { close(e.closed) })
	e.wg.Wait()
	e.subs.closeAll()
	return nil
}

// isBuiltin reports whether p is one of the engine's own providers (the
// static and the registered locations), which it refreshes itself.
func (e *Engine) isBuiltin(p Provider) bool {
	pp, ok := p.(*PluginProvider)
	if !ok {
		return false
	}
	lp := pp.own()
	return lp != nil && lp.e == e
}

// builtinProviders returns the engine's own providers.
func (e *Engine) builtinProviders() []*PluginProvider {
	e.provMu.Lock()
	defer e.provMu.Unlock()
	var out []*PluginProvider
	for _, p := range e.providers {
		if e.isBuiltin(p) {
			out = append(out, p.(*PluginProvider))
		}
	}
	return out
}

// providerKey is the edge parent of a provider's entities.
func providerKey(name string) string { return "provider:" + name }
