package ui

import (
	"net/http"
	"strings"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/techdocs"
	"github.com/atrium-portal/atrium/internal/web"
)

// Docs serves entities' documentation (TechDocs): the list of documented
// entities, each site's pages and files, and search.
type Docs struct {
	u   *UI
	svc *techdocs.Service
}

// NewDocs returns the documentation pages, rendered in u's layout.
func NewDocs(u *UI, svc *techdocs.Service) *Docs {
	return &Docs{u: u, svc: svc}
}

// Routes registers the documentation routes.
func (d *Docs) Routes(mux web.Mux) {
	mux.HandleFunc("GET /docs", d.list)
	mux.HandleFunc("GET /docs/{namespace}/{kind}/{name}", d.redirect)
	mux.HandleFunc("GET /docs/{namespace}/{kind}/{name}/_search", d.search)
	mux.HandleFunc("GET /docs/{namespace}/{kind}/{name}/{path...}", d.page)
}

// maxDocsListed bounds the entities listed on /docs.
const maxDocsListed = 500

type docsListData struct {
	Q        string
	Hits     []techdocs.Hit
	Searched bool
	Entities []docsEntity
}

type docsEntity struct {
	Title, Kind, Href, Description, Owner string
}

// list shows every entity with documentation, and searches the built sites.
func (d *Docs) list(w http.ResponseWriter, r *http.Request) {
	ents, err := d.svc.Entities(r.Context(), maxDocsListed)
	if err != nil {
		d.u.fail(w, r, err)
		return
	}
	data := docsListData{Q: strings.TrimSpace(r.URL.Query().Get("q"))}
	for _, e := range ents {
		data.Entities = append(data.Entities, docsEntity{
			Title: entityTitle(e), Kind: kindLabel(e.Kind), Href: techdocs.SiteURL(e.Ref()),
			Description: e.Metadata.Description, Owner: specString(e, "owner"),
		})
	}
	if data.Q != "" {
		data.Searched = true
		if data.Hits, err = d.svc.Search(r.Context(), data.Q, 50); err != nil {
			d.u.fail(w, r, err)
			return
		}
	}
	d.u.page(w, r, "docs-list", data, View{Title: "Documentation", Section: "docs"})
}

func docsRef(r *http.Request) string {
	return catalog.Ref{Kind: r.PathValue("kind"), Namespace: r.PathValue("namespace"), Name: r.PathValue("name")}.String()
}

// redirect sends /docs/ns/kind/name to the site's index with its slash,
// so relative addresses in pages resolve the same way everywhere.
func (d *Docs) redirect(w http.ResponseWriter, r *http.Request) {
	target := r.URL.EscapedPath() + "/"
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	http.Redirect(w, r, target, http.StatusMovedPermanently)
}

type docsPageData struct {
	Site      *techdocs.Site
	Page      *techdocs.Page
	Nav       []techdocs.NavItem
	TOC       []tocEntry
	EntityURL string
	Q         string
	Hits      []techdocs.Hit
	Searched  bool
}

type tocEntry struct {
	ID, Text string
	Sub      bool
}

// page serves a page of a site, or one of its files (images).
func (d *Docs) page(w http.ResponseWriter, r *http.Request) {
	site, err := d.svc.Site(r.Context(), docsRef(r))
	if err != nil {
		d.u.fail(w, r, err)
		return
	}
	p := r.PathValue("path")
	if page := site.Page(p); page != nil {
		if p != "" && !strings.HasSuffix(p, "/") {
			http.Redirect(w, r, page.URL, http.StatusMovedPermanently)
			return
		}
		d.render(w, r, site, page, docsPageData{})
		return
	}
	a, err := site.Asset(p)
	if err != nil {
		d.u.fail(w, r, err)
		return
	}
	defer a.Body.Close()
	h := w.Header()
	h.Set("Content-Type", a.ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	// Files from a repository are untrusted: an SVG opened on its own must
	// not run script or load anything.
	h.Set("Content-Security-Policy", "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox")
	h.Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, "", a.ModTime, a.Body)
}

// search searches one site; results show on its index page.
func (d *Docs) search(w http.ResponseWriter, r *http.Request) {
	site, err := d.svc.Site(r.Context(), docsRef(r))
	if err != nil {
		d.u.fail(w, r, err)
		return
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	data := docsPageData{Q: q, Searched: q != ""}
	if q != "" {
		data.Hits = site.Search(q, 50)
	}
	d.render(w, r, site, nil, data)
}

func (d *Docs) render(w http.ResponseWriter, r *http.Request, site *techdocs.Site, page *techdocs.Page, data docsPageData) {
	data.Site, data.Page = site, page
	data.EntityURL = refPath(site.Ref)
	current := ""
	if page != nil {
		current = page.URL
		for _, h := range page.Headings {
			if h.Level >= 2 && h.Level <= 3 && h.ID != "" {
				data.TOC = append(data.TOC, tocEntry{ID: h.ID, Text: h.Text, Sub: h.Level == 3})
			}
		}
	}
	data.Nav = markCurrent(site.Nav, current)
	title := site.Name
	crumbs := []Crumb{{Label: "Documentation", Href: "/docs"}}
	switch {
	case page != nil && page.Path != "":
		title = page.Title + " · " + site.Name
		crumbs = append(crumbs, Crumb{Label: site.Name, Href: site.Base})
	case page == nil:
		title = "Search · " + site.Name
		crumbs = append(crumbs, Crumb{Label: site.Name, Href: site.Base})
	}
	d.u.page(w, r, "docs-page", data, View{Title: title, Section: "docs", Breadcrumbs: crumbs})
}

// markCurrent copies nav with the entry for url marked.
func markCurrent(nav []techdocs.NavItem, u string) []techdocs.NavItem {
	out := make([]techdocs.NavItem, len(nav))
	for i, it := range nav {
		it.Current = u != "" && it.URL == u
		it.Children = markCurrent(it.Children, u)
		out[i] = it
	}
	return out
}
