package api

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/web"
)

func errReadonly() error {
	return fault.New(fault.Forbidden, "This operation not allowed in readonly mode")
}

// getLocations serves GET /locations: [{data: Location}].
func (a *API) getLocations(w http.ResponseWriter, r *http.Request) {
	locs, err := a.cat.Locations(r.Context())
	if err != nil {
		writeErr(w, r, err)
		return
	}
	type wrapped struct {
		Data store.Location `json:"data"`
	}
	out := make([]wrapped, len(locs))
	for i, l := range locs {
		out[i] = wrapped{Data: l}
	}
	web.WriteJSON(w, http.StatusOK, out)
}

// getLocation serves GET /locations/{id}.
func (a *API) getLocation(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	loc, err := a.cat.Location(r.Context(), id)
	if fault.Is(err, fault.NotFound) {
		err = fault.New(fault.NotFound, "Found no location with ID %s", id)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, loc)
}

// addLocationResponse is the answer of POST /locations.
type addLocationResponse struct {
	Location any               `json:"location"`
	Entities []*catalog.Entity `json:"entities"`
	Exists   *bool             `json:"exists,omitempty"`
}

// postLocation serves POST /locations (?dryRun=true to only preview).
func (a *API) postLocation(w http.ResponseWriter, r *http.Request) {
	dryRun := false
	switch v := r.URL.Query().Get("dryRun"); v {
	case "", "false":
	case "true":
		dryRun = true
	default:
		writeErr(w, r, fault.New(fault.Invalid, "dryRun must be true or false, got %q", v))
		return
	}
	onConflict := r.URL.Query().Get("onConflict")
	if onConflict != "" && onConflict != "reject" && onConflict != "refresh" {
		writeErr(w, r, fault.New(fault.Invalid, "onConflict must be reject or refresh, got %q", onConflict))
		return
	}
	if a.readonly && !dryRun {
		writeErr(w, r, errReadonly())
		return
	}
	var spec engine.LocationSpec
	if err := readJSON(r, &spec); err != nil {
		writeErr(w, r, err)
		return
	}
	if err := checkLocationSpec(spec); err != nil {
		writeErr(w, r, err)
		return
	}
	res, err := a.cat.AddLocation(r.Context(), spec, dryRun)
	if fault.Is(err, fault.Conflict) && onConflict == "refresh" {
		res, err = a.refreshLocation(r, spec, err)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	out := addLocationResponse{Location: res.Location, Entities: res.Entities}
	if out.Entities == nil {
		out.Entities = []*catalog.Entity{}
	}
	if dryRun {
		exists := res.Exists
		out.Exists = &exists
	}
	web.WriteJSON(w, http.StatusCreated, out)
}

// checkLocationSpec rejects what no location type could read.
func checkLocationSpec(spec engine.LocationSpec) error {
	if strings.TrimSpace(spec.Type) == "" {
		return fault.New(fault.Invalid, "type is required")
	}
	if strings.TrimSpace(spec.Target) == "" {
		return fault.New(fault.Invalid, "target is required")
	}
	if spec.Type == "url" {
		u, err := url.Parse(spec.Target)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fault.New(fault.Invalid, "The given location.target is not a URL")
		}
	}
	return nil
}

// deleteLocation serves DELETE /locations/{id}.
func (a *API) deleteLocation(w http.ResponseWriter, r *http.Request) {
	if a.readonly {
		writeErr(w, r, errReadonly())
		return
	}
	id := r.PathValue("id")
	err := a.cat.DeleteLocation(r.Context(), id)
	if fault.Is(err, fault.NotFound) {
		err = fault.New(fault.NotFound, "Found no location with ID %s", id)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// getLocationByEntity serves GET /locations/by-entity/{kind}/{namespace}/{name}.
func (a *API) getLocationByEntity(w http.ResponseWriter, r *http.Request) {
	ref, canonical := entityRef(r)
	loc, err := a.cat.LocationByEntity(r.Context(), canonical)
	if fault.Is(err, fault.NotFound) {
		err = fault.New(fault.NotFound, "No location found for entity %s", ref.String())
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, loc)
}

type analyzeBody struct {
	Location        *engine.LocationSpec `json:"location"`
	CatalogFilename string               `json:"catalogFilename"`
}

// postAnalyzeLocation serves POST /analyze-location.
func (a *API) postAnalyzeLocation(w http.ResponseWriter, r *http.Request) {
	var body analyzeBody
	if err := readJSON(r, &body); err != nil {
		writeErr(w, r, err)
		return
	}
	if body.Location == nil {
		writeErr(w, r, fault.New(fault.Invalid, "location is required ({type, target})"))
		return
	}
	if err := checkLocationSpec(*body.Location); err != nil {
		writeErr(w, r, err)
		return
	}
	res, err := a.cat.AnalyzeLocation(r.Context(), *body.Location, body.CatalogFilename)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if res.ExistingEntityFiles == nil {
		res.ExistingEntityFiles = []engine.ExistingEntityFile{}
	}
	if res.GenerateEntities == nil {
		res.GenerateEntities = []engine.GeneratedEntity{}
	}
	web.WriteJSON(w, http.StatusOK, res)
}

// refreshLocation answers POST /locations?onConflict=refresh for a location
// registered already: its Location entity is refreshed, so the target is
// read again now, and the registration is returned as if just made.
// conflict is returned when the registration cannot be found by its spec.
func (a *API) refreshLocation(r *http.Request, spec engine.LocationSpec, conflict error) (*engine.AddLocationResult, error) {
	locs, err := a.cat.Locations(r.Context())
	if err != nil {
		return nil, err
	}
	typ, target := strings.TrimSpace(spec.Type), strings.TrimSpace(spec.Target)
	for _, l := range locs {
		if l.Type == typ && l.Target == target {
			if err := a.cat.Refresh(r.Context(), engine.LocationEntityRef(l.Type, l.Target)); err != nil {
				return nil, err
			}
			return &engine.AddLocationResult{Location: l, Entities: []*catalog.Entity{}}, nil
		}
	}
	return nil, conflict
}
