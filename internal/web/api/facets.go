package api

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/fault"
)

// maxFacets bounds the facets one request may ask for.
const maxFacets = 100

// getFacets serves GET /entity-facets.
func (a *API) getFacets(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	filter, err := catalog.ParseFilterParams(q["filter"])
	if err != nil {
		writeErr(w, r, invalid(err, "invalid filter"))
		return
	}
	a.facets(w, r, q["facet"], filter)
}

type facetsBody struct {
	Facets []string        `json:"facets"`
	Query  json.RawMessage `json:"query"`
}

// postFacets serves POST /entity-facets (the predicate form).
func (a *API) postFacets(w http.ResponseWriter, r *http.Request) {
	var body facetsBody
	if err := readJSON(r, &body); err != nil {
		writeErr(w, r, err)
		return
	}
	var filter *catalog.Filter
	if len(body.Query) > 0 && string(body.Query) != "null" {
		var err error
		if filter, err = catalog.ParsePredicate(body.Query); err != nil {
			writeErr(w, r, invalid(err, "invalid query"))
			return
		}
	}
	a.facets(w, r, body.Facets, filter)
}

func (a *API) facets(w http.ResponseWriter, r *http.Request, facets []string, filter *catalog.Filter) {
	var names []string
	for _, f := range facets {
		if f = strings.TrimSpace(f); f != "" {
			names = append(names, f)
		}
	}
	if len(names) == 0 {
		writeErr(w, r, fault.New(fault.Invalid, "Missing facet parameter"))
		return
	}
	if len(names) > maxFacets {
		writeErr(w, r, fault.New(fault.Invalid, "at most %d facets may be asked for at once, got %d", maxFacets, len(names)))
		return
	}
	// The encoded answer, from the engine's cache when it has one.
	if rf, ok := a.cat.(engine.RawFacets); ok {
		b, err := rf.FacetsRaw(r.Context(), names, filter)
		if err != nil {
			writeErr(w, r, err)
			return
		}
		writeRaw(w, b)
		return
	}
	res, err := a.cat.Facets(r.Context(), names, filter)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	b, err := engine.EncodeFacets(names, res)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeRaw(w, b)
}
