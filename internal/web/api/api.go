// Package api serves Backstage's catalog REST API under /api/catalog on top
// of an engine.Catalog.
package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/atrium-portal/atrium/internal/audit"
	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/web"
)

// Prefix is where the catalog API is mounted.
const Prefix = "/api/catalog"

// Limits bound what one request may ask for.
type Limits struct {
	// DefaultPageSize is the by-query page size when none is given.
	DefaultPageSize int
	// MaxPageSize is the largest limit accepted; larger is a 400.
	MaxPageSize int
	// MaxRefs is the most entityRefs one by-refs request may name.
	MaxRefs int
	// StreamPageSize is the page size used to stream unpaged GET /entities.
	StreamPageSize int
}

// Params configure the API.
type Params struct {
	Catalog engine.Catalog
	// Readonly refuses to register or unregister locations (catalog.readonly).
	Readonly bool
	Limits   Limits
}

// API holds the catalog handlers.
type API struct {
	cat      engine.Catalog
	raw      engine.RawCatalog // cat's final-JSON reads, when it has them
	readonly bool
	lim      Limits
}

// New returns the API; zero limits get defaults.
func New(p Params) *API {
	l := p.Limits
	if l.MaxPageSize <= 0 {
		l.MaxPageSize = 1000
	}
	if l.DefaultPageSize <= 0 {
		l.DefaultPageSize = min(20, l.MaxPageSize)
	}
	if l.MaxRefs <= 0 {
		l.MaxRefs = 1000
	}
	if l.StreamPageSize <= 0 {
		l.StreamPageSize = min(500, l.MaxPageSize)
	}
	raw, _ := p.Catalog.(engine.RawCatalog)
	return &API{cat: p.Catalog, raw: raw, readonly: p.Readonly, lim: l}
}

// query marks a POST route that only reads (its arguments are in the body)
// so that the audit log does not record it as a change.
func query(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		audit.ReadOnly(r.Context())
		h(w, r)
	}
}

// Register adds every catalog route to mux.
func (a *API) Register(mux web.Mux) {
	routes := []struct {
		pattern string
		h       http.HandlerFunc
	}{
		{"GET /entities", a.getEntities},
		{"GET /entities/by-query", a.getEntitiesByQuery},
		{"POST /entities/by-query", query(a.postEntitiesByQuery)},
		{"POST /entities/by-refs", query(a.postEntitiesByRefs)},
		{"GET /entities/by-uid/{uid}", a.getEntityByUID},
		{"DELETE /entities/by-uid/{uid}", a.deleteEntityByUID},
		{"GET /entities/by-name/{kind}/{namespace}/{name}", a.getEntityByName},
		{"GET /entities/by-name/{kind}/{namespace}/{name}/ancestry", a.getAncestry},
		{"GET /entity-facets", a.getFacets},
		{"POST /entity-facets", query(a.postFacets)},
		{"POST /refresh", a.postRefresh},
		{"POST /validate-entity", a.postValidateEntity},
		{"GET /locations", a.getLocations},
		{"POST /locations", a.postLocation},
		{"POST /locations/by-query", query(a.postLocationsByQuery)},
		{"GET /locations/{id}", a.getLocation},
		{"PUT /locations/{id}", a.putLocation},
		{"DELETE /locations/{id}", a.deleteLocation},
		{"GET /locations/by-entity/{kind}/{namespace}/{name}", a.getLocationByEntity},
		{"POST /analyze-location", a.postAnalyzeLocation},
	}
	paths := map[string]map[string]bool{}
	for _, r := range routes {
		method, path, _ := strings.Cut(r.pattern, " ")
		mux.HandleFunc(method+" "+Prefix+path, r.h)
		if paths[path] == nil {
			paths[path] = map[string]bool{}
		}
		paths[path][method] = true
	}
	// A known path with an unsupported method answers like any unknown
	// route (Backstage's router does the same), in the JSON error body
	// rather than the mux's plain-text 405.
	for path, methods := range paths {
		if !methodCatchAll[path] {
			mux.HandleFunc(Prefix+path, web.NotFound)
			continue
		}
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			if !methods[m] {
				mux.HandleFunc(m+" "+Prefix+path, web.NotFound)
			}
		}
	}
}

// methodCatchAll are the paths whose catch-all is registered per method:
// a pattern without a method would conflict with a sibling wildcard route
// (POST /locations/by-query and GET /locations/{id}).
var methodCatchAll = map[string]bool{"/locations/by-query": true}

// readJSON decodes the request body into v, rejecting unknown shapes with a
// message that says what was wrong.
func readJSON(r *http.Request, v any) error {
	if r.Body == nil {
		return fault.New(fault.Invalid, "request body is required")
	}
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &mbe):
			return err
		case errors.Is(err, io.EOF):
			return fault.New(fault.Invalid, "request body is required")
		case errors.As(err, &syn):
			return fault.New(fault.Invalid, "request body is not valid JSON at byte %d: %v", syn.Offset, syn)
		case errors.As(err, &typ):
			field := typ.Field
			if field == "" {
				field = "request body"
			}
			return fault.New(fault.Invalid, "%s must be %s, not %s", field, jsonTypeName(typ.Type.Kind().String()), typ.Value)
		}
		return fault.Wrap(fault.Invalid, err, "request body is not valid JSON: %v", err)
	}
	if dec.More() {
		return fault.New(fault.Invalid, "request body has data after the JSON value")
	}
	return nil
}

func jsonTypeName(kind string) string {
	switch kind {
	case "slice", "array":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	}
	return "a number"
}

// invalid makes a caller error out of any parse error, keeping fault errors.
func invalid(err error, what string) error {
	var fe *fault.Error
	if errors.As(err, &fe) {
		return err
	}
	return fault.Wrap(fault.Invalid, err, "%s: %v", what, err)
}

// project applies a fields projection to an entity, or returns it as is.
func project(e *catalog.Entity, fields []string) (any, error) {
	if e == nil {
		return nil, nil
	}
	if len(fields) == 0 {
		return e, nil
	}
	return catalog.Project(e, fields)
}

// splitList splits comma-separated values of a repeated query parameter,
// dropping blanks.
func splitList(values []string) []string {
	var out []string
	for _, v := range values {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// entityRef builds the canonical ref from by-name path values.
func entityRef(r *http.Request) (catalog.Ref, string) {
	ref := catalog.Ref{Kind: r.PathValue("kind"), Namespace: r.PathValue("namespace"), Name: r.PathValue("name")}
	return ref, ref.String()
}

func writeErr(w http.ResponseWriter, r *http.Request, err error) { web.WriteError(w, r, err) }
