package auth

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
)

// The session cookie's name. Under HTTPS it carries the __Host- prefix, so
// browsers refuse it unless it is Secure, host-only and for the whole site.
const (
	sessionCookie       = "atrium_session"
	secureSessionCookie = "__Host-atrium_session"
)

func (a *Authenticator) sessionCookieName() string {
	if a.secure {
		return secureSessionCookie
	}
	return sessionCookie
}

// startSession stores a new session for id and sets its cookie.
func (a *Authenticator) startSession(ctx context.Context, w http.ResponseWriter, r *http.Request, provider string, id *Identity) error {
	secret := randomString(32)
	now := a.now()
	body, err := json.Marshal(id)
	if err != nil {
		return fault.Wrap(fault.Internal, err, "encode identity")
	}
	s := store.Session{
		ID:         randomID(12),
		Hash:       hashSecret(secret),
		UserRef:    id.Ref,
		Provider:   provider,
		Identity:   body,
		IP:         clientIP(r),
		UserAgent:  truncate(r.UserAgent(), 256),
		CreatedAt:  now,
		LastSeenAt: now,
		ExpiresAt:  now.Add(a.p.Auth.Session.AbsoluteTimeout),
	}
	if err := a.p.Store.SessionCreate(ctx, s); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name:     a.sessionCookieName(),
		Value:    secret,
		Path:     "/",
		Expires:  s.ExpiresAt,
		HttpOnly: true,
		Secure:   a.secure,
		SameSite: http.SameSiteLaxMode,
	})
	a.log.InfoContext(ctx, "signed in", "user", id.Ref, "provider", provider, "session", s.ID)
	return nil
}

// clearSessionCookie tells the browser to forget the session.
func (a *Authenticator) clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: a.sessionCookieName(), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode})
}

// sessionSecret returns the session cookie's value, "" when absent.
func (a *Authenticator) sessionSecret(r *http.Request) string {
	c, err := r.Cookie(a.sessionCookieName())
	if err != nil {
		return ""
	}
	return c.Value
}

// fromSession returns the principal of a session cookie; a fault.Unauthorized
// error when the session is unknown, expired or idle too long.
func (a *Authenticator) fromSession(ctx context.Context, secret string) (*Principal, error) {
	hash := hashSecret(secret)
	s, err := a.p.Store.SessionGet(ctx, hash)
	if fault.Is(err, fault.NotFound) {
		return nil, fault.New(fault.Unauthorized, "your session has ended; sign in again")
	}
	if err != nil {
		return nil, err
	}
	now := a.now()
	if !now.Before(s.ExpiresAt) || now.Sub(s.LastSeenAt) > a.p.Auth.Session.IdleTimeout {
		_ = a.p.Store.SessionDelete(ctx, store.SessionDeleteParams{Hash: hash})
		return nil, fault.New(fault.Unauthorized, "your session has expired; sign in again")
	}
	if a.touches.due("s:"+s.ID, s.LastSeenAt, now) {
		if err := a.p.Store.SessionTouch(ctx, hash, now); err != nil {
			a.log.WarnContext(ctx, "recording session use", "session", s.ID, "error", err.Error())
		}
	}
	var id Identity
	if err := json.Unmarshal(s.Identity, &id); err != nil {
		return nil, fault.Wrap(fault.Internal, err, "decode session identity")
	}
	return &Principal{
		Type:          PrincipalUser,
		Ref:           s.UserRef,
		OwnershipRefs: id.OwnershipRefs,
		Claims:        id.Claims,
		Via:           ViaSession,
		TokenID:       "session:" + s.ID,
		DisplayName:   id.DisplayName,
	}, nil
}

// clientIP is the address the request came from, without the port. Proxy
// headers are not trusted here.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// sessionView is a session as its owner sees it on the Sessions page.
type sessionView struct {
	ID         string    `json:"id"`
	Provider   string    `json:"provider"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"userAgent"`
	CreatedAt  time.Time `json:"createdAt"`
	LastSeenAt time.Time `json:"lastSeenAt"`
	ExpiresAt  time.Time `json:"expiresAt"`
	Current    bool      `json:"current"`
}

// sessionsOf lists the caller's sessions.
func (a *Authenticator) sessionsOf(ctx context.Context, p *Principal) ([]sessionView, error) {
	list, err := a.p.Store.SessionList(ctx, p.Ref)
	if err != nil {
		return nil, err
	}
	now := a.now()
	out := []sessionView{}
	for _, s := range list {
		if !now.Before(s.ExpiresAt) || now.Sub(s.LastSeenAt) > a.p.Auth.Session.IdleTimeout {
			continue
		}
		out = append(out, sessionView{ID: s.ID, Provider: s.Provider, IP: s.IP, UserAgent: s.UserAgent,
			CreatedAt: s.CreatedAt, LastSeenAt: s.LastSeenAt, ExpiresAt: s.ExpiresAt,
			Current: p.TokenID == "session:"+s.ID})
	}
	return out, nil
}
