package ui

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/atrium-portal/atrium/internal/audit"
	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
)

// maxPreviewRows caps the entities a dry-run preview lists.
const maxPreviewRows = 200

// locationRow is a registered location with how many entities came from it
// and the problems of its Location entity.
type locationRow struct {
	store.Location
	Entities int
	Errors   []string
	Href     string
}

type locationsData struct {
	Rows     []locationRow
	Type     string
	Target   string
	Types    []string
	Preview  *engine.AddLocationResult
	Shown    []*catalog.Entity
	Problem  string
	Notice   string
	CSRF     string
	ReadOnly bool
}

const originAnnotationKey = "metadata.annotations." + catalog.AnnotationManagedByOriginLocation

// locations lists registered locations and the form to register one.
func (u *UI) locations(w http.ResponseWriter, r *http.Request) {
	d := locationsData{Type: "url", Types: []string{"url", "file"}, CSRF: csrfToken(r), ReadOnly: u.p.ReadOnly}
	switch {
	case r.URL.Query().Get("registered") != "":
		d.Notice = "Registered " + r.URL.Query().Get("registered") + ". Its entities appear as it is processed."
	case r.URL.Query().Get("removed") != "":
		d.Notice = "Unregistered " + r.URL.Query().Get("removed") + ". Its entities are removed from the catalog."
	}
	u.renderLocations(w, r, d, http.StatusOK)
}

func (u *UI) renderLocations(w http.ResponseWriter, r *http.Request, d locationsData, status int) {
	rows, err := u.locationRows(r.Context())
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d.Rows = rows
	b, err := u.body("locations", d)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.Render(w, r, View{Title: "Locations", Section: "locations", Body: b, Status: status,
		Breadcrumbs: []Crumb{{Label: "Catalog", Href: "/catalog"}}})
}

// locationRows joins registered locations with their entity counts (one
// facet query) and their Location entities' errors (one query).
func (u *UI) locationRows(ctx context.Context) ([]locationRow, error) {
	locs, err := u.p.Catalog.Locations(ctx)
	if err != nil {
		return nil, err
	}
	if len(locs) == 0 {
		return nil, nil
	}
	counts, err := u.facetCounts(ctx, []string{originAnnotationKey}, nil)
	if err != nil {
		return nil, err
	}
	byOrigin := map[string]int{}
	for _, c := range counts[originAnnotationKey] {
		byOrigin[strings.ToLower(c.Value)] += c.Count
	}
	keys := make([]string, len(locs))
	for i, l := range locs {
		keys[i] = strings.ToLower(l.Type + ":" + l.Target)
	}
	page, err := u.p.Catalog.Entities(ctx, engine.Query{
		Filter: catalog.All(catalog.In("kind", "location"), catalog.In("metadata.annotations."+catalog.AnnotationManagedByLocation, keys...)),
		Limit:  len(keys),
	})
	if err != nil {
		return nil, err
	}
	problems := map[string][]string{}
	hrefs := map[string]string{}
	for _, e := range page.Items {
		k := strings.ToLower(e.Metadata.Annotations[catalog.AnnotationManagedByLocation])
		hrefs[k] = entityHref(e)
		if e.Status != nil {
			for _, it := range e.Status.Items {
				msg := it.Message
				if it.Error != nil {
					msg = it.Error.Message
				}
				problems[k] = append(problems[k], msg)
			}
		}
	}
	rows := make([]locationRow, len(locs))
	for i, l := range locs {
		rows[i] = locationRow{Location: l, Entities: byOrigin[keys[i]], Errors: problems[keys[i]], Href: hrefs[keys[i]]}
	}
	return rows, nil
}

// locationsRegister previews (dry run) or registers a location.
func (u *UI) locationsRegister(w http.ResponseWriter, r *http.Request) {
	if u.p.ReadOnly {
		u.fail(w, r, fault.New(fault.Forbidden, "the catalog is read-only (catalog.readonly): locations cannot be registered"))
		return
	}
	if err := r.ParseForm(); err != nil {
		u.fail(w, r, fault.Wrap(fault.Invalid, err, "the form could not be read"))
		return
	}
	spec := engine.LocationSpec{Type: strings.TrimSpace(r.PostForm.Get("type")), Target: strings.TrimSpace(r.PostForm.Get("target"))}
	d := locationsData{Type: spec.Type, Target: spec.Target, Types: []string{"url", "file"}, CSRF: csrfToken(r)}
	if spec.Target == "" {
		d.Problem = "Enter the URL or file path of a catalog-info.yaml to register."
		u.renderLocations(w, r, d, http.StatusBadRequest)
		return
	}
	dryRun := r.PostForm.Get("action") != "register"
	res, err := u.p.Catalog.AddLocation(r.Context(), spec, dryRun)
	if !dryRun {
		u.audit(r, "catalog.location.create", spec.Type+":"+spec.Target, err)
	}
	if err != nil {
		var fe *fault.Error
		if errors.As(err, &fe) && fe.Kind != fault.Internal && fe.Kind != fault.Unavailable {
			d.Problem = fe.Message
			u.renderLocations(w, r, d, statusOfKind(fe.Kind))
			return
		}
		u.fail(w, r, err)
		return
	}
	if dryRun {
		d.Preview = res
		d.Shown = res.Entities
		if len(d.Shown) > maxPreviewRows {
			d.Shown = d.Shown[:maxPreviewRows]
		}
		u.renderLocations(w, r, d, http.StatusOK)
		return
	}
	http.Redirect(w, r, "/catalog-import?registered="+url.QueryEscape(res.Location.Target), http.StatusSeeOther)
}

// locationsDelete unregisters a location.
func (u *UI) locationsDelete(w http.ResponseWriter, r *http.Request) {
	if u.p.ReadOnly {
		u.fail(w, r, fault.New(fault.Forbidden, "the catalog is read-only (catalog.readonly): locations cannot be unregistered"))
		return
	}
	id := r.PathValue("id")
	loc, err := u.p.Catalog.Location(r.Context(), id)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	err = u.p.Catalog.DeleteLocation(r.Context(), id)
	u.audit(r, "catalog.location.delete", loc.Type+":"+loc.Target, err)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/catalog-import?removed="+url.QueryEscape(loc.Target), http.StatusSeeOther)
}

// audit records a change the portal made. Without an audit log in the
// request (tests, tools) nothing is recorded; other failures are logged.
func (u *UI) audit(r *http.Request, action, resource string, err error) {
	ev := audit.Event{Action: action, Resource: resource, Outcome: audit.Succeeded, Details: map[string]any{"via": "portal"}}
	if err != nil {
		ev.Outcome = audit.Failed
		ev.Details["error"] = fault.KindOf(err)
	}
	if aerr := audit.Record(r.Context(), ev); aerr != nil && !errors.Is(aerr, audit.ErrNoLog) {
		u.log.ErrorContext(r.Context(), "audit record lost", "action", action, "error", aerr.Error())
	}
}
