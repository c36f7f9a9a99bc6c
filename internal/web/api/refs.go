package api

import (
	"net/http"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/web"
)

type byRefsBody struct {
	EntityRefs []string `json:"entityRefs"`
	Fields     []string `json:"fields"`
}

// postEntitiesByRefs serves POST /entities/by-refs: one item per ref, in
// order, null where the entity is missing or filtered out.
func (a *API) postEntitiesByRefs(w http.ResponseWriter, r *http.Request) {
	var body byRefsBody
	if err := readJSON(r, &body); err != nil {
		writeErr(w, r, err)
		return
	}
	if body.EntityRefs == nil {
		writeErr(w, r, fault.New(fault.Invalid, "entityRefs is required (an array of entity references)"))
		return
	}
	if len(body.EntityRefs) > a.lim.MaxRefs {
		writeErr(w, r, fault.New(fault.Invalid, "entityRefs has %d references; at most %d are allowed per request", len(body.EntityRefs), a.lim.MaxRefs))
		return
	}
	filter, err := catalog.ParseFilterParams(r.URL.Query()["filter"])
	if err != nil {
		writeErr(w, r, invalid(err, "invalid filter"))
		return
	}
	refs := make([]string, len(body.EntityRefs))
	for i, s := range body.EntityRefs {
		ref, err := catalog.ParseRef(s, catalog.RefDefaults{})
		if err != nil {
			writeErr(w, r, fault.New(fault.Invalid, "entityRefs[%d]: %v", i, err))
			return
		}
		refs[i] = ref.String()
	}
	fields := splitList(body.Fields)
	if rr, ok := a.cat.(engine.RawByRefs); ok {
		a.writeRawByRefs(w, r, rr, refs, filter, fields)
		return
	}
	entities, err := a.cat.EntitiesByRefs(r.Context(), refs, filter)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	items := make([]any, len(refs))
	for i := range refs {
		if i >= len(entities) || entities[i] == nil {
			continue
		}
		if items[i], err = project(entities[i], fields); err != nil {
			writeErr(w, r, invalid(err, "invalid fields"))
			return
		}
	}
	web.WriteJSON(w, http.StatusOK, struct {
		Items []any `json:"items"`
	}{items})
}
