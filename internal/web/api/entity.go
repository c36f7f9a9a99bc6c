package api

import (
	"net/http"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/web"
)

// getEntityByUID serves GET /entities/by-uid/{uid}.
func (a *API) getEntityByUID(w http.ResponseWriter, r *http.Request) {
	uid := r.PathValue("uid")
	if a.raw != nil {
		raw, err := a.raw.EntityRawByUID(r.Context(), uid)
		if fault.Is(err, fault.NotFound) {
			err = fault.New(fault.NotFound, "No entity with uid %s", uid)
		}
		if err != nil {
			writeErr(w, r, err)
			return
		}
		writeEntity(w, raw)
		return
	}
	e, err := a.cat.EntityByUID(r.Context(), uid)
	if fault.Is(err, fault.NotFound) {
		err = fault.New(fault.NotFound, "No entity with uid %s", uid)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, e)
}

// deleteEntityByUID serves DELETE /entities/by-uid/{uid}: 204 whether or not
// the entity existed, as in Backstage.
func (a *API) deleteEntityByUID(w http.ResponseWriter, r *http.Request) {
	err := a.cat.DeleteByUID(r.Context(), r.PathValue("uid"))
	if err != nil && !fault.Is(err, fault.NotFound) {
		writeErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// getEntityByName serves GET /entities/by-name/{kind}/{namespace}/{name}.
func (a *API) getEntityByName(w http.ResponseWriter, r *http.Request) {
	ref, canonical := entityRef(r)
	if a.raw != nil {
		raw, err := a.raw.EntityRawByRef(r.Context(), canonical)
		if fault.Is(err, fault.NotFound) {
			err = notFoundByName(ref.Kind, ref.Namespace, ref.Name)
		}
		if err != nil {
			writeErr(w, r, err)
			return
		}
		writeEntity(w, raw)
		return
	}
	e, err := a.cat.EntityByRef(r.Context(), canonical)
	if fault.Is(err, fault.NotFound) {
		err = notFoundByName(ref.Kind, ref.Namespace, ref.Name)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, e)
}

// getAncestry serves GET /entities/by-name/{kind}/{namespace}/{name}/ancestry.
func (a *API) getAncestry(w http.ResponseWriter, r *http.Request) {
	ref, canonical := entityRef(r)
	anc, err := a.cat.Ancestry(r.Context(), canonical)
	if fault.Is(err, fault.NotFound) {
		err = notFoundByName(ref.Kind, ref.Namespace, ref.Name)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, anc)
}

func notFoundByName(kind, namespace, name string) error {
	return fault.New(fault.NotFound, "No entity named '%s' found, with kind '%s' in namespace '%s'", name, kind, namespace)
}

type refreshBody struct {
	EntityRef          string `json:"entityRef"`
	AuthorizationToken string `json:"authorizationToken"`
}

// postRefresh serves POST /refresh: reprocess one entity now.
func (a *API) postRefresh(w http.ResponseWriter, r *http.Request) {
	var body refreshBody
	if err := readJSON(r, &body); err != nil {
		writeErr(w, r, err)
		return
	}
	if body.EntityRef == "" {
		writeErr(w, r, fault.New(fault.Invalid, "entityRef is required"))
		return
	}
	if err := a.cat.Refresh(r.Context(), body.EntityRef); err != nil {
		writeErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}
