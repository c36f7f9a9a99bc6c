package authz

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/atrium-portal/atrium/internal/auth"
	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/web"
)

// AuthorizePath is Backstage's permission endpoint.
const AuthorizePath = "/api/permission/authorize"

// DefaultMaxAuthorizeItems bounds the items of one authorize request.
const DefaultMaxAuthorizeItems = 100

// API serves POST /api/permission/authorize, answering for the caller.
type API struct {
	Authorizer *Authorizer
	// Catalog loads the entities that items name with resourceRef; it
	// should be the authorized catalog, so that an entity the caller may
	// not read is denied rather than revealed.
	Catalog engine.Catalog
	// MaxItems bounds the items of one request (0: DefaultMaxAuthorizeItems).
	MaxItems int
}

// Register adds the route.
func (h *API) Register(mux web.Mux) {
	mux.HandleFunc("POST "+AuthorizePath, h.authorize)
}

type authorizeRequest struct {
	Items []authorizeItem `json:"items"`
}

type authorizeItem struct {
	ID         string          `json:"id"`
	Permission *permissionJSON `json:"permission"`
	// ResourceRef names the entity; Backstage also sends it as a string.
	ResourceRef *string `json:"resourceRef,omitempty"`
}

type permissionJSON struct {
	Type         string         `json:"type"`
	Name         string         `json:"name"`
	Attributes   map[string]any `json:"attributes,omitempty"`
	ResourceType string         `json:"resourceType,omitempty"`
}

type authorizeResult struct {
	ID           string `json:"id"`
	Result       Result `json:"result"`
	PluginID     string `json:"pluginId,omitempty"`
	ResourceType string `json:"resourceType,omitempty"`
	Conditions   any    `json:"conditions,omitempty"`
}

func (h *API) authorize(w http.ResponseWriter, r *http.Request) {
	var req authorizeRequest
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(&req); err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			web.WriteError(w, r, err)
		case errors.Is(err, io.EOF):
			web.WriteError(w, r, fault.New(fault.Invalid, "request body is required: {\"items\": [...]}"))
		default:
			web.WriteError(w, r, fault.Wrap(fault.Invalid, err, "request body is not valid: %v", err))
		}
		return
	}
	max := h.MaxItems
	if max <= 0 {
		max = DefaultMaxAuthorizeItems
	}
	switch {
	case req.Items == nil:
		web.WriteError(w, r, fault.New(fault.Invalid, "items is required"))
		return
	case len(req.Items) > max:
		web.WriteError(w, r, fault.New(fault.Invalid, "items has %d entries; at most %d are allowed per request", len(req.Items), max))
		return
	}
	for i, it := range req.Items {
		switch {
		case it.ID == "":
			web.WriteError(w, r, fault.New(fault.Invalid, "items[%d].id is required", i))
			return
		case it.Permission == nil || it.Permission.Name == "":
			web.WriteError(w, r, fault.New(fault.Invalid, "items[%d].permission.name is required", i))
			return
		}
		if _, ok := Lookup(it.Permission.Name); !ok {
			web.WriteError(w, r, fault.New(fault.Invalid, "items[%d].permission.name: unknown permission %q", i, it.Permission.Name))
			return
		}
	}
	ctx := r.Context()
	p := auth.PrincipalFrom(ctx)
	out := make([]authorizeResult, len(req.Items))
	for i, it := range req.Items {
		res := authorizeResult{ID: it.ID}
		var resource *Resource
		if it.ResourceRef != nil && *it.ResourceRef != "" {
			e, err := h.Catalog.EntityByRef(ctx, *it.ResourceRef)
			switch {
			case fault.Is(err, fault.NotFound), fault.Is(err, fault.Invalid):
				res.Result = Deny
				out[i] = res
				continue
			case err != nil:
				web.WriteError(w, r, err)
				return
			}
			resource = &Resource{Entity: e}
		}
		d, err := h.Authorizer.Authorize(ctx, p, it.Permission.Name, resource)
		if err != nil {
			web.WriteError(w, r, err)
			return
		}
		res.Result = d.Result
		if d.Result == Conditional {
			res.PluginID = "catalog"
			res.ResourceType = ResourceEntity
			res.Conditions = Criteria(d.Filter)
		}
		out[i] = res
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"items": out})
}

// Criteria writes a filter as Backstage's permission criteria: allOf,
// anyOf and not over catalog rules (IS_ENTITY_KIND, IS_ENTITY_OWNER,
// HAS_LABEL, HAS_ANNOTATION, HAS_SPEC, HAS_METADATA). A prefix test, which
// Backstage has no rule for, is ATRIUM_HAS_PREFIX {key, prefix}.
func Criteria(f *catalog.Filter) any {
	switch f.Op {
	case catalog.OpAll:
		return map[string]any{"allOf": criteriaList(f.Children)}
	case catalog.OpAny:
		return map[string]any{"anyOf": criteriaList(f.Children)}
	case catalog.OpNot:
		return map[string]any{"not": Criteria(f.Children[0])}
	}
	rule := func(name string, params map[string]any) map[string]any {
		return map[string]any{"rule": name, "resourceType": ResourceEntity, "params": params}
	}
	key := f.Key
	if f.Match == catalog.MatchPrefix {
		return rule("ATRIUM_HAS_PREFIX", map[string]any{"key": key, "prefix": f.Values[0]})
	}
	switch key {
	case "kind":
		if f.Match == catalog.MatchIn {
			return rule("IS_ENTITY_KIND", map[string]any{"kinds": f.Values})
		}
	case "relations.ownedby":
		if f.Match == catalog.MatchIn {
			return rule("IS_ENTITY_OWNER", map[string]any{"claims": f.Values})
		}
	}
	name, param, sub := "HAS_METADATA", "key", strings.TrimPrefix(key, "metadata.")
	switch {
	case strings.HasPrefix(key, "metadata.labels."):
		name, param, sub = "HAS_LABEL", "label", strings.TrimPrefix(key, "metadata.labels.")
	case strings.HasPrefix(key, "metadata.annotations."):
		name, param, sub = "HAS_ANNOTATION", "annotation", strings.TrimPrefix(key, "metadata.annotations.")
	case strings.HasPrefix(key, "spec."):
		name, sub = "HAS_SPEC", strings.TrimPrefix(key, "spec.")
	}
	if f.Match == catalog.MatchExists {
		return rule(name, map[string]any{param: sub})
	}
	if len(f.Values) == 1 {
		return rule(name, map[string]any{param: sub, "value": f.Values[0]})
	}
	anyOf := make([]any, len(f.Values))
	for i, v := range f.Values {
		anyOf[i] = rule(name, map[string]any{param: sub, "value": v})
	}
	return map[string]any{"anyOf": anyOf}
}

func criteriaList(fs []*catalog.Filter) []any {
	out := make([]any, len(fs))
	for i, f := range fs {
		out[i] = Criteria(f)
	}
	return out
}
