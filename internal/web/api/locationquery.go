package api

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/web"
)

// locationItem is a location as POST /locations/by-query returns it, with
// the ref of the Location entity that stands for it.
type locationItem struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	Target    string `json:"target"`
	EntityRef string `json:"entityRef"`
}

// locationQueryBody is the body of POST /locations/by-query.
type locationQueryBody struct {
	Cursor *string         `json:"cursor"`
	Limit  *int            `json:"limit"`
	Query  json.RawMessage `json:"query"`
}

// locationCursor is the opaque cursor of POST /locations/by-query: the
// query of the first request and where the next page starts.
type locationCursor struct {
	Query  json.RawMessage `json:"query,omitempty"`
	Offset int             `json:"offset"`
}

// The fields a location predicate may name, lowercased.
var locationFields = []string{"id", "type", "target", "entityref"}

// postLocationsByQuery serves POST /locations/by-query: registered
// locations matching a predicate over id, type, target and entityRef, in
// registration order, a page at a time.
func (a *API) postLocationsByQuery(w http.ResponseWriter, r *http.Request) {
	var body locationQueryBody
	if err := readJSON(r, &body); err != nil {
		writeErr(w, r, err)
		return
	}
	limit := a.lim.DefaultPageSize
	if body.Limit != nil {
		if *body.Limit < 1 || *body.Limit > a.lim.MaxPageSize {
			writeErr(w, r, fault.New(fault.Invalid, "limit must be between 1 and %d, got %d", a.lim.MaxPageSize, *body.Limit))
			return
		}
		limit = *body.Limit
	}
	cur := locationCursor{Query: body.Query}
	if body.Cursor != nil {
		b, err := decodeBase64(*body.Cursor)
		if *body.Cursor == "" || err != nil || json.Unmarshal(b, &cur) != nil || cur.Offset < 0 {
			writeErr(w, r, fault.New(fault.Invalid, "cursor is not a cursor this server issued"))
			return
		}
	}
	filter, err := catalog.ParsePredicate(cur.Query)
	if err != nil {
		writeErr(w, r, invalid(err, "invalid query"))
		return
	}
	if err := checkLocationFilter(filter); err != nil {
		writeErr(w, r, err)
		return
	}
	locs, err := a.cat.Locations(r.Context())
	if err != nil {
		writeErr(w, r, err)
		return
	}
	matched := []locationItem{}
	for _, l := range locs {
		it := locationItem{ID: l.ID, Type: l.Type, Target: l.Target, EntityRef: engine.LocationEntityRef(l.Type, l.Target)}
		if matchLocation(filter, it) {
			matched = append(matched, it)
		}
	}
	resp := struct {
		Items      []locationItem `json:"items"`
		TotalItems int            `json:"totalItems"`
		PageInfo   pageInfo       `json:"pageInfo"`
	}{Items: []locationItem{}, TotalItems: len(matched)}
	if cur.Offset < len(matched) {
		end := min(cur.Offset+limit, len(matched))
		resp.Items = matched[cur.Offset:end]
		if end < len(matched) {
			b, _ := json.Marshal(locationCursor{Query: cur.Query, Offset: end})
			resp.PageInfo.NextCursor = encodeRaw(b)
		}
	}
	web.WriteJSON(w, http.StatusOK, resp)
}

// checkLocationFilter rejects keys a location does not have.
func checkLocationFilter(f *catalog.Filter) error {
	if f == nil {
		return nil
	}
	if f.Op == catalog.OpMatch {
		key := strings.ToLower(strings.TrimSpace(f.Key))
		for _, k := range locationFields {
			if key == k {
				return nil
			}
		}
		return fault.New(fault.Invalid, "invalid query: locations have no field %q; use id, type, target or entityRef", f.Key)
	}
	for _, c := range f.Children {
		if err := checkLocationFilter(c); err != nil {
			return err
		}
	}
	return nil
}

// matchLocation evaluates a predicate on a location, comparing values
// case-insensitively like entity filters.
func matchLocation(f *catalog.Filter, l locationItem) bool {
	if f == nil {
		return true
	}
	switch f.Op {
	case catalog.OpAll:
		for _, c := range f.Children {
			if !matchLocation(c, l) {
				return false
			}
		}
		return true
	case catalog.OpAny:
		for _, c := range f.Children {
			if matchLocation(c, l) {
				return true
			}
		}
		return false
	case catalog.OpNot:
		return len(f.Children) == 1 && !matchLocation(f.Children[0], l)
	}
	var v string
	switch strings.ToLower(strings.TrimSpace(f.Key)) {
	case "id":
		v = l.ID
	case "type":
		v = l.Type
	case "target":
		v = l.Target
	case "entityref":
		v = l.EntityRef
	}
	v = strings.ToLower(v)
	switch f.Match {
	case catalog.MatchExists:
		return v != ""
	case catalog.MatchIn:
		for _, want := range f.Values {
			if strings.ToLower(want) == v {
				return true
			}
		}
		return false
	case catalog.MatchPrefix:
		return len(f.Values) == 1 && strings.HasPrefix(v, strings.ToLower(f.Values[0]))
	}
	return false
}

// putLocation serves PUT /locations/{id}: change a registered location's
// type and target, keeping its id.
func (a *API) putLocation(w http.ResponseWriter, r *http.Request) {
	if a.readonly {
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
	id := r.PathValue("id")
	loc, err := a.cat.UpdateLocation(r.Context(), id, spec)
	if fault.Is(err, fault.NotFound) {
		err = fault.New(fault.NotFound, "Found no location with ID %s", id)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, loc)
}
