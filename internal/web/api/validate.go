package api

import (
	"encoding/json"
	"net/http"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/web"
)

type validateBody struct {
	Location string          `json:"location"`
	Entity   json.RawMessage `json:"entity"`
}

type validateError struct {
	Name    string `json:"name"`
	Message string `json:"message"`
}

// postValidateEntity serves POST /validate-entity: 200 when the entity would
// be accepted, 400 with {errors: [...]} when not.
func (a *API) postValidateEntity(w http.ResponseWriter, r *http.Request) {
	var body validateBody
	if err := readJSON(r, &body); err != nil {
		writeErr(w, r, err)
		return
	}
	loc, err := catalog.ParseLocationRef(body.Location)
	if err != nil {
		writeErr(w, r, fault.New(fault.Invalid, "location must be a location reference such as url:https://example.com/catalog-info.yaml: %v", err))
		return
	}
	if loc.Type != "url" {
		writeErr(w, r, fault.New(fault.Invalid, "location must be a url: location, got %q", loc.Type))
		return
	}
	if len(body.Entity) == 0 || string(body.Entity) == "null" {
		writeErr(w, r, fault.New(fault.Invalid, "entity is required"))
		return
	}
	problems, err := a.cat.ValidateEntity(r.Context(), loc.String(), body.Entity)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if len(problems) == 0 {
		w.WriteHeader(http.StatusOK)
		return
	}
	errs := make([]validateError, len(problems))
	for i, p := range problems {
		// The entity came as JSON: lines mean nothing to the caller.
		p.File, p.Line = "", 0
		errs[i] = validateError{Name: string(fault.Invalid), Message: p.String()}
	}
	web.WriteJSON(w, http.StatusBadRequest, struct {
		Errors []validateError `json:"errors"`
	}{errs})
}
