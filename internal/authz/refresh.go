package authz

import (
	"net/http"
	"time"

	"github.com/atrium-portal/atrium/internal/auth"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/web"
)

// RefreshPath reads the policy files and URLs again on demand, for a CI
// job that has just merged a policy change.
const RefreshPath = "/api/permission/policies/refresh"

// PermPolicyRefresh allows POST /api/permission/policies/refresh.
const PermPolicyRefresh = "atrium.admin.policy.refresh"

// RefreshResult is the answer of the refresh endpoint.
type RefreshResult struct {
	// Changed says whether a new policy is now in force.
	Changed  bool      `json:"changed"`
	Sources  []string  `json:"sources"`
	LoadedAt time.Time `json:"loadedAt"`
}

// RegisterRefresh adds POST /api/permission/policies/refresh.
func (h *API) RegisterRefresh(mux web.Mux) { mux.HandleFunc("POST "+RefreshPath, h.refresh) }

// refresh reloads the policy. A policy that fails to load is answered with
// its error (which names the file or URL, rule and position) and leaves
// the previous policy in force.
func (h *API) refresh(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := h.Authorizer.Check(ctx, auth.PrincipalFrom(ctx), PermPolicyRefresh, nil); err != nil {
		web.WriteError(w, r, err)
		return
	}
	changed, err := h.Authorizer.Refresh(ctx)
	if err != nil {
		kind := fault.Invalid // the policy or its configuration is wrong
		if fault.KindOf(err) == fault.Unavailable {
			kind = fault.Unavailable // the Git host did not answer
		}
		web.WriteError(w, r, fault.Wrap(kind, err, "the policy was not reloaded; the previous policy stays in force: %v", err))
		return
	}
	st := h.Authorizer.Status()
	web.WriteJSON(w, http.StatusOK, RefreshResult{Changed: changed, Sources: st.Sources, LoadedAt: st.LoadedAt.UTC()})
}
