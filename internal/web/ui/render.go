package ui

import (
	"bytes"
	"html/template"
	"net/http"

	"github.com/atrium-portal/atrium/internal/auth"
)

// View is one page for the layout: what it is called, which navigation item
// it belongs to, and its body.
type View struct {
	// Title names the page in the browser tab and the page header.
	Title string
	// Section is the navigation item to highlight (NavItem.Section: "home",
	// "catalog", "apis", "locations", or one that Params.Nav added).
	Section string
	// Body is the page's content, already rendered and escaped (by the
	// caller's own html/template). No inline scripts or style attributes.
	Body template.HTML
	// Breadcrumbs lead from the portal's root to this page; the page itself
	// is not one of them.
	Breadcrumbs []Crumb
	// Status is the HTTP status; 0 means 200.
	Status int
	// Styles and Scripts name extra files under /static/ (for example
	// "create-form.js") that the layout links in the head, with their
	// versioned URLs; scripts are deferred.
	Styles, Scripts []string
}

// Crumb is one link of a breadcrumb trail.
type Crumb struct {
	Label, Href string
}

// layoutData is what the layout template sees.
type layoutData struct {
	View    View
	Nav     []navLink
	User    *userMenu
	Version string
	// Development is set in development mode (no sign-in configured):
	// the layout shows a banner saying so.
	Development bool
	// CSRF is the token of the sign-out form.
	CSRF string
}

type navLink struct {
	NavItem
	Current bool
}

type userMenu struct {
	Name string
	Ref  string
	Href string
}

// Render writes v as a full page: layout around v.Body. Errors while
// writing are logged; the status line is already sent by then.
func (u *UI) Render(w http.ResponseWriter, r *http.Request, v View) {
	data := layoutData{View: v, Development: auth.IsDevelopment(r.Context()), CSRF: csrfToken(r)}
	for _, item := range u.nav {
		if item.Shown != nil && !item.Shown() {
			continue
		}
		data.Nav = append(data.Nav, navLink{NavItem: item, Current: item.Section == v.Section})
	}
	if p := auth.PrincipalFrom(r.Context()); p != nil && p.Type != auth.PrincipalNone {
		name := p.DisplayName
		if name == "" {
			name = p.Ref
		}
		data.User = &userMenu{Name: name, Ref: p.Ref, Href: entityHrefFromRef(p.Ref)}
	}
	var buf bytes.Buffer
	if err := u.tmpl.ExecuteTemplate(&buf, "layout", data); err != nil {
		u.log.ErrorContext(r.Context(), "rendering the layout", "error", err.Error(), "path", r.URL.Path)
		http.Error(w, "The page could not be rendered.", http.StatusInternalServerError)
		return
	}
	status := v.Status
	if status == 0 {
		status = http.StatusOK
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// body executes one of the portal's own body templates.
func (u *UI) body(name string, data any) (template.HTML, error) {
	var buf bytes.Buffer
	if err := u.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		return "", err
	}
	return template.HTML(buf.String()), nil //nolint:gosec // produced by html/template
}

// page renders a body template into the layout, or the error page when the
// template fails.
func (u *UI) page(w http.ResponseWriter, r *http.Request, name string, data any, v View) {
	b, err := u.body(name, data)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	v.Body = b
	u.Render(w, r, v)
}
