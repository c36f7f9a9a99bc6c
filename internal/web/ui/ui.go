// Package ui is Atrium's web portal: server-rendered pages over the catalog,
// one shared layout, embedded static assets and live updates over SSE.
//
// Other packages add pages to the portal without knowing its templates:
// they render their own body with their own html/template and hand it to
// (*UI).Render in a View, which wraps it in the layout (header, navigation,
// user menu, footer):
//
//	body, err := myTemplates.ExecuteToHTML(...) // any template.HTML
//	u.Render(w, r, ui.View{Title: "API tokens", Section: "tokens", Body: body,
//		Breadcrumbs: []ui.Crumb{{Label: "Settings", Href: "/settings"}}})
//
// The layout is CSP-friendly: it has no inline scripts or styles; all CSS
// and JavaScript are files served under /static/. Bodies handed to Render
// must follow the same rule (no <script>, no style attributes).
package ui

import (
	"context"
	"errors"
	"html/template"
	"log/slog"
	"time"

	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/web"
)

// Params configure the portal.
type Params struct {
	// Catalog answers every catalog query the pages make.
	Catalog engine.Catalog
	// Logger receives render and stream errors; nil means slog.Default().
	Logger *slog.Logger
	// Subscribe delivers the engine's change events (engine.Engine.Subscribe).
	// Nil disables live updates.
	Subscribe func(buffer int) (<-chan engine.ChangeEvent, func())
	// Recent returns the refs of the most recently written entities, newest
	// first (store.Driver.EntityRecent), so that the home page's "Recently
	// changed" survives restarts. Nil lists only changes since start.
	Recent func(ctx context.Context, limit int) ([]string, error)
	// Nav adds items to the navigation after the portal's own ones, for
	// pages other packages serve (tokens, permissions, audit).
	Nav []NavItem
	// Limits bound what one page or stream may cost.
	Limits Limits
	// ReadOnly hides the forms that change the catalog (catalog.readonly).
	ReadOnly bool
	// Cards lists the plugins' entity cards; entity pages show those whose
	// selector matches (plugincard.go). Nil shows none.
	Cards func() []PluginCard
	// CardEvents delivers changes of what plugin cards show (a workload
	// scaled), as change events of the entities whose pages show them;
	// open entity pages reload like after a catalog change. Nil: none.
	CardEvents func(buffer int) (<-chan engine.ChangeEvent, func())
	// Costs answers the FinOps page (/finops) and its export
	// (/api/azure/costs); nil registers neither.
	Costs CostReporter
}

// Limits bound the portal's work per request.
type Limits struct {
	// PageSize is the number of rows of a catalog list page (default 25).
	PageSize int
	// MaxPageSize caps the page size a URL may ask for (default 100).
	MaxPageSize int
	// MaxSubscribers caps concurrent live-update streams (default 1000).
	MaxSubscribers int
	// Heartbeat is the interval of keep-alive comments on streams (default 25s).
	Heartbeat time.Duration
	// RelationsShown caps the entities listed per relation type on an entity
	// page (default 200).
	RelationsShown int
	// FacetWait is how long a catalog list view waits for facet counts
	// being recounted after a change before it shows the previous counts
	// (default 150ms).
	FacetWait time.Duration
	// FacetMaxStale is the age beyond which previous facet counts are never
	// shown; the view waits for the recount instead (default 5m).
	FacetMaxStale time.Duration
	// CardTimeout bounds rendering one plugin card (default 2s); a card
	// that takes longer shows as unavailable and the page is not held up.
	CardTimeout time.Duration
}

// NavItem is an entry of the main navigation.
type NavItem struct {
	// Section is matched against View.Section to highlight the item.
	Section string
	Label   string
	Href    string
	// Shown, when set, hides the item while it reports false (a page
	// that exists only while a plugin runs).
	Shown func() bool
}

// UI serves the portal's pages.
type UI struct {
	p      Params
	log    *slog.Logger
	tmpl   *template.Template
	nav    []NavItem
	live   *hub
	asset  assets
	recent *recent
	facets *facetCache
	stop   context.CancelFunc
}

// New parses the templates and prepares the static assets.
func New(p Params) (*UI, error) {
	if p.Catalog == nil {
		return nil, errors.New("ui: Params.Catalog is required")
	}
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	l := &p.Limits
	if l.PageSize <= 0 {
		l.PageSize = 25
	}
	if l.MaxPageSize <= 0 {
		l.MaxPageSize = 100
	}
	if l.PageSize > l.MaxPageSize {
		l.PageSize = l.MaxPageSize
	}
	if l.MaxSubscribers <= 0 {
		l.MaxSubscribers = 1000
	}
	if l.Heartbeat <= 0 {
		l.Heartbeat = 25 * time.Second
	}
	if l.RelationsShown <= 0 {
		l.RelationsShown = 200
	}
	if l.FacetWait <= 0 {
		l.FacetWait = 150 * time.Millisecond
	}
	if l.FacetMaxStale <= 0 {
		l.FacetMaxStale = 5 * time.Minute
	}
	if l.CardTimeout <= 0 {
		l.CardTimeout = 2 * time.Second
	}
	u := &UI{p: p, log: p.Logger}
	var err error
	if u.asset, err = loadAssets(); err != nil {
		return nil, err
	}
	if u.tmpl, err = parseTemplates(u.asset); err != nil {
		return nil, err
	}
	u.nav = append([]NavItem{
		{Section: "home", Label: "Home", Href: "/"},
		{Section: "catalog", Label: "Catalog", Href: "/catalog"},
		{Section: "apis", Label: "APIs", Href: "/catalog?kind=api"},
		{Section: "locations", Label: "Locations", Href: "/catalog-import"},
	}, p.Nav...)
	u.facets = &facetCache{max: 256, wait: l.FacetWait, maxStale: l.FacetMaxStale, now: time.Now}
	u.live = newHub(p.Subscribe, l.MaxSubscribers, l.Heartbeat, p.Logger)
	u.live.cards = p.CardEvents
	if p.Subscribe != nil {
		var ctx context.Context
		ctx, u.stop = context.WithCancel(context.Background())
		u.recent = &recent{max: 50}
		go u.recent.follow(ctx, p.Subscribe, p.Recent, p.Logger, u.facets.invalidate)
	}
	return u, nil
}

// Close stops following the engine's change events.
func (u *UI) Close() error {
	if u.stop != nil {
		u.stop()
	}
	return nil
}

// PublicRoutes are the route patterns that need no signed-in user: the
// static assets, the web app manifest and the icon (the sign-in page uses
// them).
func (u *UI) PublicRoutes() []string {
	return []string{"GET /static/{name}", "GET /manifest.webmanifest", "GET /favicon.ico"}
}

// Routes registers the portal's pages, its live-update stream and /static/.
// *http.ServeMux implements web.Mux.
func (u *UI) Routes(mux web.Mux) {
	mux.HandleFunc("GET /static/{name}", u.static)
	mux.HandleFunc("GET /manifest.webmanifest", u.manifest)
	mux.HandleFunc("GET /favicon.ico", u.favicon)
	mux.HandleFunc("GET /{$}", u.home)
	mux.HandleFunc("GET /catalog", u.catalogList)
	mux.HandleFunc("GET /catalog/{namespace}/{kind}/{name}", u.entity)
	mux.HandleFunc("GET /catalog/{namespace}/{kind}/{name}/yaml", u.entityYAML)
	mux.HandleFunc("GET /search", u.search)
	mux.HandleFunc("GET /catalog-import", u.locations)
	mux.HandleFunc("POST /catalog-import", u.locationsRegister)
	mux.HandleFunc("POST /catalog-import/{id}/delete", u.locationsDelete)
	mux.HandleFunc("GET /events/catalog", u.live.serve)
	if u.p.Costs != nil {
		u.finopsRoutes(mux, u.p.Costs)
	}
}
