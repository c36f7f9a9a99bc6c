package ui

import (
	"bytes"
	"context"
	"embed"
	"html/template"
	"log/slog"
	"net/http"
	"strings"

	"github.com/atrium-portal/atrium/internal/auth"
	"github.com/atrium-portal/atrium/internal/authz"
	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/scaffolder"
	"github.com/atrium-portal/atrium/internal/web"
	portal "github.com/atrium-portal/atrium/internal/web/ui"
)

// Checker decides permissions (*authz.Authorizer implements it).
type Checker interface {
	Check(ctx context.Context, p *auth.Principal, perm string, res *authz.Resource) error
}

// Limits bound what one page or suggestion request may cost.
type Limits struct {
	// Gallery is the most templates the gallery shows (default 200).
	Gallery int
	// RecentRuns is the number of tasks a template's page lists (default 10).
	RecentRuns int
	// Suggestions is the most entries a picker's type-ahead returns
	// (default 20).
	Suggestions int
	// QueryLength bounds search and type-ahead text (default 200).
	QueryLength int
}

// Pages serves the gallery, the template forms and their suggestions.
type Pages struct {
	svc    *scaffolder.Service
	cat    engine.Catalog
	az     Checker
	portal *portal.UI
	log    *slog.Logger
	lim    Limits
	tmpl   *template.Template
}

//go:embed templates/*.html
var templateFS embed.FS

// Static files of these pages under /static/ (package web/ui serves them).
var (
	styles  = []string{"create-pages.css"}
	scripts = []string{"create-form.js"}
)

// New returns the pages. cat must be the authorized catalog (what the
// caller may read); az checks the scaffolder's permissions (nil allows
// all); portal frames the pages in the portal's layout. Zero limits take
// their defaults.
func New(svc *scaffolder.Service, cat engine.Catalog, az Checker, p *portal.UI, log *slog.Logger, lim Limits) (*Pages, error) {
	if log == nil {
		log = slog.Default()
	}
	if lim.Gallery <= 0 {
		lim.Gallery = 200
	}
	if lim.RecentRuns <= 0 {
		lim.RecentRuns = 10
	}
	if lim.Suggestions <= 0 {
		lim.Suggestions = 20
	}
	if lim.QueryLength <= 0 {
		lim.QueryLength = 200
	}
	t, err := template.New("create").Funcs(funcs).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	return &Pages{svc: svc, cat: cat, az: az, portal: p, log: log, lim: lim, tmpl: t}, nil
}

// Register adds the routes.
func (p *Pages) Register(mux web.Mux) {
	mux.HandleFunc("GET /create", p.gallery)
	mux.HandleFunc("GET /create/templates/{namespace}/{name}", p.form)
	mux.HandleFunc("POST /create/templates/{namespace}/{name}", p.submit)
	mux.HandleFunc("GET /create/templates/{namespace}/{name}/suggest", p.suggest)
}

// Nav is the portal navigation item of these pages.
func Nav() portal.NavItem {
	return portal.NavItem{Section: "create", Label: "Create", Href: "/create"}
}

func (p *Pages) check(r *http.Request, perm string) error {
	if p.az == nil {
		return nil
	}
	return p.az.Check(r.Context(), auth.PrincipalFrom(r.Context()), perm, nil)
}

// render executes a body template and frames it in the layout.
func (p *Pages) render(w http.ResponseWriter, r *http.Request, name string, data any, v portal.View) {
	var buf bytes.Buffer
	if err := p.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		p.log.ErrorContext(r.Context(), "rendering a create page", "template", name, "error", err.Error())
		web.WriteError(w, r, fault.Wrap(fault.Internal, err, "rendering the page"))
		return
	}
	v.Body = template.HTML(buf.String()) //nolint:gosec // produced by html/template
	v.Section = "create"
	v.Styles, v.Scripts = styles, scripts
	p.portal.Render(w, r, v)
}

var funcs = template.FuncMap{
	"join":     func(s []string) string { return strings.Join(s, "\n") },
	"add":      func(a, b int) int { return a + b },
	"refLabel": refLabel,
	"refHref":  refHref,
	"lower":    strings.ToLower,
	"fieldCtx": func(f *Field, current bool) fieldCtx { return fieldCtx{F: f, Current: current} },
}

// fieldCtx is what the recursive field template sees: the field and
// whether its page is the one shown (only that page autofocuses).
type fieldCtx struct {
	F       *Field
	Current bool
}
