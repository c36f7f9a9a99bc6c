// Package techdocs builds and serves entities' documentation
// (docs-like-code, Backstage's TechDocs): the Markdown tree next to a
// descriptor, with mkdocs.yml's docs_dir and nav honoured, rendered with
// goldmark and sanitised, cached per entity, searchable.
//
// Sites are built on first request and rebuilt when the entity or any file
// changes; at most Limits.MaxConcurrentBuilds builds run at once.
package techdocs

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/fault"
)

// Limits bound what documentation may cost.
type Limits struct {
	// MaxFiles is the most files a docs folder may hold.
	MaxFiles int
	// MaxFileBytes is the largest page or image; larger ones are skipped.
	MaxFileBytes int64
	// MaxSiteBytes is the most bytes of pages and images per site.
	MaxSiteBytes int64
	// MaxConcurrentBuilds bounds the builds running at once.
	MaxConcurrentBuilds int
	// MaxSites bounds the built sites kept in memory.
	MaxSites int
}

// DefaultLimits are used for every limit left zero.
var DefaultLimits = Limits{
	MaxFiles:            2000,
	MaxFileBytes:        5 << 20,
	MaxSiteBytes:        50 << 20,
	MaxConcurrentBuilds: 2,
	MaxSites:            200,
}

// Params configure a Service.
type Params struct {
	Catalog engine.Catalog
	Limits  Limits
	Logger  *slog.Logger
	// Acquire, when set, is called before each build and may refuse it
	// (atrium.limits.heavy.techdocs: 503 with Retry-After); the function
	// it returns ends the build's slot.
	Acquire func(ctx context.Context) (release func(), err error)
	// FetchFolder reads the docs folder of an entity registered from a url
	// location (dir: resolved against the descriptor's URL); nil leaves
	// such entities without docs (501).
	FetchFolder func(ctx context.Context, folderURL string) (map[string][]byte, error)
	// RemoteTTL is how long a site built from a url location is served
	// before its folder is fetched again (default 5 minutes).
	RemoteTTL time.Duration
}

// Service builds, caches and searches documentation sites.
type Service struct {
	cat    engine.Catalog
	lim    Limits
	log    *slog.Logger
	builds chan struct{}
	// acquire, when set, takes a slot for a build from the process's
	// limiter of heavy operations (Params.Acquire).
	acquire func(ctx context.Context) (func(), error)
	// fetch and remoteTTL build docs of url locations (Params.FetchFolder).
	fetch     func(ctx context.Context, folderURL string) (map[string][]byte, error)
	remoteTTL time.Duration

	mu       sync.Mutex
	sites    map[string]*Site
	used     map[string]time.Time
	inflight map[string]*call
}

type call struct {
	done chan struct{}
	site *Site
	err  error
}

// New returns a Service.
func New(p Params) *Service {
	lim := p.Limits
	d := DefaultLimits
	if lim.MaxFiles <= 0 {
		lim.MaxFiles = d.MaxFiles
	}
	if lim.MaxFileBytes <= 0 {
		lim.MaxFileBytes = d.MaxFileBytes
	}
	if lim.MaxSiteBytes <= 0 {
		lim.MaxSiteBytes = d.MaxSiteBytes
	}
	if lim.MaxConcurrentBuilds <= 0 {
		lim.MaxConcurrentBuilds = d.MaxConcurrentBuilds
	}
	if lim.MaxSites <= 0 {
		lim.MaxSites = d.MaxSites
	}
	log := p.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Service{
		cat: p.Catalog, lim: lim, log: log,
		builds:  make(chan struct{}, lim.MaxConcurrentBuilds),
		acquire: p.Acquire,
		fetch:   p.FetchFolder, remoteTTL: remoteTTL(p.RemoteTTL),
		sites:    map[string]*Site{},
		used:     map[string]time.Time{},
		inflight: map[string]*call{},
	}
}

// Follow drops cached sites of changed entities until events closes or ctx
// ends. Pass it the channel of engine.Engine.Subscribe.
func (s *Service) Follow(ctx context.Context, events <-chan engine.ChangeEvent) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			s.mu.Lock()
			if ev.Overflow {
				clear(s.sites)
			}
			for _, r := range ev.Refs {
				delete(s.sites, r)
			}
			s.mu.Unlock()
		}
	}
}

// Entities lists the entities that declare documentation, by title.
func (s *Service) Entities(ctx context.Context, limit int) ([]*catalog.Entity, error) {
	page, err := s.cat.Entities(ctx, engine.Query{Filter: catalog.Exists("metadata.annotations." + Annotation), Limit: limit})
	if err != nil {
		return nil, err
	}
	out := page.Items
	sort.SliceStable(out, func(i, j int) bool {
		return strings.ToLower(title(out[i])) < strings.ToLower(title(out[j]))
	})
	return out, nil
}

func title(e *catalog.Entity) string {
	if e.Metadata.Title != "" {
		return e.Metadata.Title
	}
	return e.Metadata.Name
}

// Site returns the built documentation of the entity ref names, building it
// when it is missing or stale.
func (s *Service) Site(ctx context.Context, ref string) (*Site, error) {
	e, err := s.cat.EntityByRef(ctx, ref)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return nil, fault.New(fault.NotFound, "no entity %s", ref)
	}
	if !HasDocs(e) {
		return nil, fault.New(fault.NotFound, "%s has no documentation (no %s annotation)", e.Ref(), Annotation)
	}
	var dir, folderURL, key string
	if u, remote, err := sourceURL(e); err != nil {
		return nil, err
	} else if remote {
		if s.fetch == nil {
			return nil, fault.New(fault.NotImplemented, "the documentation of %s lives at a url location, which this server does not read", e.Ref())
		}
		// A remote folder is fetched again once per remoteTTL.
		folderURL = u
		key = e.Metadata.Etag + "/url/" + strconv.FormatInt(time.Now().UnixNano()/int64(s.remoteTTL), 10)
	} else {
		if dir, err = sourceDir(e); err != nil {
			return nil, err
		}
		fp, err := fingerprint(dir, s.lim)
		if err != nil {
			return nil, fault.Wrap(fault.NotFound, err, "the documentation folder of %s cannot be read", e.Ref())
		}
		key = e.Metadata.Etag + "/" + fp
	}
	canon := e.Ref().String()

	s.mu.Lock()
	if site := s.sites[canon]; site != nil && site.key == key {
		s.used[canon] = time.Now()
		s.mu.Unlock()
		return site, nil
	}
	if c := s.inflight[canon]; c != nil {
		s.mu.Unlock()
		select {
		case <-c.done:
			return c.site, c.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	c := &call{done: make(chan struct{})}
	s.inflight[canon] = c
	s.mu.Unlock()

	if folderURL != "" {
		c.site, c.err = s.buildRemote(ctx, e.Ref(), folderURL, key)
	} else {
		c.site, c.err = s.build(ctx, e.Ref(), dir, key)
	}
	s.mu.Lock()
	delete(s.inflight, canon)
	if c.err == nil {
		s.sites[canon] = c.site
		s.used[canon] = time.Now()
		s.evict()
	}
	s.mu.Unlock()
	close(c.done)
	return c.site, c.err
}

// buildRemote fetches a docs folder into a temporary folder and builds it.
func (s *Service) buildRemote(ctx context.Context, ref catalog.Ref, folderURL, key string) (*Site, error) {
	files, err := s.fetch(ctx, folderURL)
	if err != nil {
		return nil, fault.Wrap(fault.KindOf(err), err, "fetching the documentation of %s: %s", ref, fault.MessageOf(err))
	}
	if len(files) > s.lim.MaxFiles {
		return nil, fault.New(fault.Invalid, "the documentation of %s has %d files, more than %d (atrium.techdocs.maxFiles)", ref, len(files), s.lim.MaxFiles)
	}
	tmp, err := os.MkdirTemp("", "atrium-techdocs-")
	if err != nil {
		return nil, fault.Wrap(fault.Internal, err, "techdocs: temporary folder")
	}
	defer os.RemoveAll(tmp)
	root, err := os.OpenRoot(tmp)
	if err != nil {
		return nil, fault.Wrap(fault.Internal, err, "techdocs: temporary folder")
	}
	defer root.Close()
	for rel, data := range files {
		if d := path.Dir(rel); d != "." {
			if err := root.MkdirAll(d, 0o700); err != nil {
				return nil, fault.Wrap(fault.Invalid, err, "the documentation of %s: %s", ref, rel)
			}
		}
		if err := root.WriteFile(rel, data, 0o600); err != nil {
			return nil, fault.Wrap(fault.Invalid, err, "the documentation of %s: %s", ref, rel)
		}
	}
	return s.build(ctx, ref, tmp, key)
}

func (s *Service) build(ctx context.Context, ref catalog.Ref, dir, key string) (*Site, error) {
	if s.acquire != nil {
		release, err := s.acquire(ctx)
		if err != nil {
			return nil, err
		}
		defer release()
	}
	select {
	case s.builds <- struct{}{}:
	case <-ctx.Done():
		return nil, fault.Wrap(fault.Unavailable, ctx.Err(), "the documentation of %s is waiting for other builds; try again", ref)
	}
	defer func() { <-s.builds }()
	start := time.Now()
	site, err := build(ref, dir, s.lim)
	if err != nil {
		s.log.WarnContext(ctx, "techdocs build failed", "entity", ref.String(), "error", err.Error())
		return nil, err
	}
	site.key = key
	s.log.InfoContext(ctx, "techdocs built", "entity", ref.String(), "pages", len(site.Pages),
		"problems", len(site.Problems), "ms", time.Since(start).Milliseconds())
	return site, nil
}

// evict drops the least recently used sites over MaxSites; s.mu is held.
func (s *Service) evict() {
	for len(s.sites) > s.lim.MaxSites {
		var oldest string
		var at time.Time
		for k := range s.sites {
			if t := s.used[k]; oldest == "" || t.Before(at) {
				oldest, at = k, t
			}
		}
		delete(s.sites, oldest)
		delete(s.used, oldest)
	}
}

// Asset is a file of a site served as is (an image, a PDF).
type Asset struct {
	ContentType string
	Size        int64
	Body        io.ReadSeekCloser
	ModTime     time.Time
}

// Asset opens the file p of a built site. Only files the build listed are
// served, and they are opened through an os.Root on docs_dir.
func (s *Site) Asset(p string) (*Asset, error) {
	p = strings.TrimPrefix(path.Clean("/"+p), "/")
	if _, ok := s.assets[p]; !ok {
		return nil, fault.New(fault.NotFound, "%s has no page or file %s", s.Ref, p)
	}
	root, err := os.OpenRoot(s.docs)
	if err != nil {
		return nil, fault.Wrap(fault.NotFound, err, "the documentation folder of %s is gone", s.Ref)
	}
	defer root.Close()
	f, err := root.Open(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fault.New(fault.NotFound, "%s has no file %s", s.Ref, p)
		}
		return nil, fault.Wrap(fault.NotFound, err, "%s cannot be opened", p)
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fault.New(fault.NotFound, "%s has no file %s", s.Ref, p)
	}
	return &Asset{ContentType: assetTypes[strings.ToLower(path.Ext(p))], Size: fi.Size(), Body: f, ModTime: fi.ModTime()}, nil
}

// Search searches one site.
func (s *Site) Search(q string, limit int) []Hit {
	hits := s.index.search(q)
	for i := range hits {
		hits[i].Site, hits[i].Entity = s.Name, s.Ref.String()
	}
	if limit > 0 && len(hits) > limit {
		hits = hits[:limit]
	}
	return hits
}

// Search searches every site built so far whose entity the caller may
// read: the sites' entities are looked up through the service's catalog
// with ctx, so an authorizing catalog hides the docs of hidden entities.
func (s *Service) Search(ctx context.Context, q string, limit int) ([]Hit, error) {
	s.mu.Lock()
	sites := make([]*Site, 0, len(s.sites))
	for _, site := range s.sites {
		sites = append(sites, site)
	}
	s.mu.Unlock()
	refs := make([]string, len(sites))
	for i, site := range sites {
		refs[i] = site.Ref.String()
	}
	visible, err := s.cat.EntitiesByRefs(ctx, refs, nil)
	if err != nil {
		return nil, err
	}
	var all []Hit
	for i, site := range sites {
		if visible[i] == nil {
			continue
		}
		all = append(all, site.Search(q, 0)...)
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].score != all[j].score {
			return all[i].score > all[j].score
		}
		return all[i].URL < all[j].URL
	})
	if limit > 0 && len(all) > limit {
		all = all[:limit]
	}
	return all, nil
}

// remoteTTL applies the default to Params.RemoteTTL.
func remoteTTL(d time.Duration) time.Duration {
	if d <= 0 {
		return 5 * time.Minute
	}
	return d
}
