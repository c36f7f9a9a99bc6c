package auth

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/web"
)

// maxTokenLifetimeDays bounds expiresInDays in requests (auth.tokens.maxLifetime
// bounds it further).
const maxTokenLifetimeDays = 3660

// tokenView is a token as lists show it: never the secret or its hash.
type tokenView struct {
	ID         string     `json:"id"`
	Kind       string     `json:"kind"`
	Name       string     `json:"name"`
	Subject    string     `json:"subject"`
	CreatedBy  string     `json:"createdBy"`
	Scopes     []string   `json:"scopes"`
	CreatedAt  time.Time  `json:"createdAt"`
	ExpiresAt  *time.Time `json:"expiresAt,omitempty"`
	LastUsedAt *time.Time `json:"lastUsedAt,omitempty"`
	RevokedAt  *time.Time `json:"revokedAt,omitempty"`
}

func viewOf(t store.Token) tokenView {
	opt := func(x time.Time) *time.Time {
		if x.IsZero() {
			return nil
		}
		return &x
	}
	return tokenView{ID: t.ID, Kind: t.Kind, Name: t.Name, Subject: t.Subject, CreatedBy: t.CreatedBy, Scopes: t.Scopes,
		CreatedAt: t.CreatedAt, ExpiresAt: opt(t.ExpiresAt), LastUsedAt: opt(t.LastUsedAt), RevokedAt: opt(t.RevokedAt)}
}

// userPrincipal returns the caller when it is a person; services have no
// personal tokens or sessions.
func userPrincipal(r *http.Request) (*Principal, error) {
	p := PrincipalFrom(r.Context())
	if p == nil || p.Type == PrincipalNone {
		return nil, fault.New(fault.Unauthorized, "sign in first")
	}
	if p.Type != PrincipalUser {
		return nil, fault.New(fault.Forbidden, "only people have personal tokens and sessions; %s is a service", p.Ref)
	}
	return p, nil
}

// userinfo answers Backstage's GET /api/auth/v1/userinfo.
func (a *Authenticator) userinfo(w http.ResponseWriter, r *http.Request) {
	p := PrincipalFrom(r.Context())
	web.WriteJSON(w, http.StatusOK, map[string]any{"claims": map[string]any{"sub": p.Ref, "ent": p.OwnershipRefs},
		"type": p.Type, "via": p.Via, "displayName": p.DisplayName})
}

func (a *Authenticator) apiListTokens(w http.ResponseWriter, r *http.Request) {
	p, err := userPrincipal(r)
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	list, err := a.ListTokens(r.Context(), store.TokenListParams{Subject: p.Ref, IncludeRevoked: r.URL.Query().Get("revoked") == "true"})
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	items := make([]tokenView, 0, len(list))
	for _, t := range list {
		items = append(items, viewOf(t))
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"items": items})
}

// createTokenRequest is the body of POST /api/auth/tokens.
type createTokenRequest struct {
	Name          string   `json:"name"`
	Scopes        []string `json:"scopes"`
	ExpiresInDays int      `json:"expiresInDays"`
	// Service, when set, creates a service token with that name instead of
	// a personal one (needs the right to).
	Service string `json:"service"`
}

func (a *Authenticator) apiCreateToken(w http.ResponseWriter, r *http.Request) {
	var req createTokenRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			web.WriteError(w, r, err)
			return
		}
		if errors.Is(err, io.EOF) {
			err = errors.New("the body is empty")
		}
		web.WriteError(w, r, fault.New(fault.Invalid, "the body must be {\"name\", \"scopes\", \"expiresInDays\", \"service\"}: %v", err))
		return
	}
	created, err := a.createFor(r, req)
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusCreated, map[string]any{"token": created.Secret, "item": viewOf(created.Token)})
}

// createFor creates a token for the caller. Tokens cannot mint tokens: a
// scoped or stolen token must not turn into a broader or longer-lived one.
func (a *Authenticator) createFor(r *http.Request, req createTokenRequest) (*CreatedToken, error) {
	p, err := userPrincipal(r)
	if err != nil {
		return nil, err
	}
	if p.Via != ViaSession && p.Via != ViaDevelopment {
		return nil, fault.New(fault.Forbidden, "tokens are created from a signed-in browser session or with `atrium token create`, not with another token")
	}
	if req.ExpiresInDays < 0 || req.ExpiresInDays > maxTokenLifetimeDays {
		return nil, fault.New(fault.Invalid, "expiresInDays must be between 1 and %d", maxTokenLifetimeDays)
	}
	params := CreateTokenParams{Kind: store.TokenPersonal, Name: req.Name, Subject: p.Ref, CreatedBy: p.Ref,
		Scopes: req.Scopes, Lifetime: time.Duration(req.ExpiresInDays) * 24 * time.Hour}
	if req.Service != "" {
		if a.p.AllowServiceTokens == nil {
			return nil, fault.New(fault.Forbidden, "service tokens are created with `atrium token create --service`")
		}
		if err := a.p.AllowServiceTokens(r.Context(), p); err != nil {
			return nil, err
		}
		params.Kind, params.Subject = store.TokenService, req.Service
	}
	created, err := a.CreateToken(r.Context(), params)
	if err != nil {
		return nil, err
	}
	a.audit(r.Context(), AuditEvent{Action: "auth.token.create", Resource: created.Token.ID, Succeeded: true,
		Details: map[string]any{"kind": created.Token.Kind, "subject": created.Token.Subject, "name": created.Token.Name, "scopes": created.Token.Scopes}})
	return created, nil
}

func (a *Authenticator) apiRevokeToken(w http.ResponseWriter, r *http.Request) {
	if err := a.revokeFor(r, r.PathValue("id")); err != nil {
		web.WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *Authenticator) revokeFor(r *http.Request, id string) error {
	p, err := userPrincipal(r)
	if err != nil {
		return err
	}
	if err := a.RevokeToken(r.Context(), id, p.Ref); err != nil {
		return err
	}
	a.audit(r.Context(), AuditEvent{Action: "auth.token.revoke", Resource: id, Succeeded: true})
	return nil
}

func (a *Authenticator) apiListSessions(w http.ResponseWriter, r *http.Request) {
	p, err := userPrincipal(r)
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	list, err := a.sessionsOf(r.Context(), p)
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"items": list})
}

func (a *Authenticator) apiRevokeSession(w http.ResponseWriter, r *http.Request) {
	if err := a.endSessionFor(r, r.PathValue("id")); err != nil {
		web.WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *Authenticator) endSessionFor(r *http.Request, id string) error {
	p, err := userPrincipal(r)
	if err != nil {
		return err
	}
	if strings.TrimSpace(id) == "" {
		return fault.New(fault.Invalid, "a session id is required")
	}
	if err := a.p.Store.SessionDelete(r.Context(), store.SessionDeleteParams{ID: id, UserRef: p.Ref}); err != nil {
		return err
	}
	a.audit(r.Context(), AuditEvent{Action: "auth.session.revoke", Resource: "session:" + id, Succeeded: true})
	return nil
}
