package auth

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
)

// Token prefixes say what a token is, so that secret scanners can find
// leaked ones and Atrium can route a bearer token without a lookup.
const (
	PersonalTokenPrefix = "atr_pat_"
	ServiceTokenPrefix  = "atr_svc_"
)

var (
	scopePattern       = regexp.MustCompile(`^[a-z][a-zA-Z0-9_-]*(\.[a-zA-Z0-9_-]+)*(\.\*)?$|^\*$`)
	serviceNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)
)

// maxTokenNameLength bounds a token's name.
const maxTokenNameLength = 100

// CreateTokenParams describe a token to create.
type CreateTokenParams struct {
	// Kind is store.TokenPersonal or store.TokenService.
	Kind string
	// Name says what the token is for ("laptop", "ci pipeline").
	Name string
	// Subject is the user ref (personal) or the service name (service;
	// "ci" becomes "service:ci").
	Subject string
	// CreatedBy is the creator's ref, or "cli".
	CreatedBy string
	// Scopes restrict the token to permissions (names or "plugin.*");
	// empty means the subject's full rights.
	Scopes []string
	// Lifetime is how long the token lives; 0 means auth.tokens.defaultLifetime.
	Lifetime time.Duration
}

// CreatedToken is a new token: Secret is shown once and never again.
type CreatedToken struct {
	Secret string
	Token  store.Token
}

// CreateToken creates an API token and returns its secret, which is stored
// only as a hash.
func (a *Authenticator) CreateToken(ctx context.Context, p CreateTokenParams) (*CreatedToken, error) {
	t, err := a.newToken(p)
	if err != nil {
		return nil, err
	}
	prefix := PersonalTokenPrefix
	if t.Kind == store.TokenService {
		prefix = ServiceTokenPrefix
	}
	secret := prefix + randomString(32)
	t.Hash = hashSecret(secret)
	if err := a.p.Store.TokenCreate(ctx, t); err != nil {
		return nil, err
	}
	a.log.InfoContext(ctx, "token created", "token", t.ID, "kind", t.Kind, "subject", t.Subject, "by", t.CreatedBy)
	return &CreatedToken{Secret: secret, Token: t}, nil
}

func (a *Authenticator) newToken(p CreateTokenParams) (store.Token, error) {
	now := a.now()
	t := store.Token{ID: "tok_" + randomID(8), Kind: p.Kind, Name: strings.TrimSpace(p.Name), CreatedBy: p.CreatedBy, CreatedAt: now}
	switch p.Kind {
	case store.TokenPersonal:
		if !strings.HasPrefix(p.Subject, "user:") {
			return t, fault.New(fault.Invalid, "a personal token belongs to a user ref such as user:default/jane, got %q", p.Subject)
		}
		t.Subject = strings.ToLower(p.Subject)
	case store.TokenService:
		name := strings.TrimPrefix(p.Subject, "service:")
		if !serviceNamePattern.MatchString(name) {
			return t, fault.New(fault.Invalid, "a service name is lowercase letters, digits, '.', '_' and '-' (at most 63), got %q", name)
		}
		t.Subject = "service:" + name
	default:
		return t, fault.New(fault.Invalid, "token kind must be %s or %s, got %q", store.TokenPersonal, store.TokenService, p.Kind)
	}
	if t.Name == "" {
		return t, fault.New(fault.Invalid, "a token needs a name that says what it is for")
	}
	if len(t.Name) > maxTokenNameLength {
		return t, fault.New(fault.Invalid, "a token name has at most %d characters", maxTokenNameLength)
	}
	for _, s := range p.Scopes {
		if !scopePattern.MatchString(s) {
			return t, fault.New(fault.Invalid, "scope %q is not a permission name (catalog.entity.read) or a prefix (catalog.*)", s)
		}
	}
	t.Scopes = append([]string{}, p.Scopes...)
	life, max := p.Lifetime, a.p.Auth.Tokens.MaxLifetime
	if life < 0 {
		return t, fault.New(fault.Invalid, "a token's lifetime must be positive")
	}
	if life == 0 {
		life = a.p.Auth.Tokens.DefaultLifetime
	}
	if max > 0 && life > max {
		return t, fault.New(fault.Invalid, "a token may live at most %s (auth.tokens.maxLifetime), asked for %s", max, life)
	}
	if life > 0 {
		t.ExpiresAt = now.Add(life)
	}
	return t, nil
}

// fromToken returns the principal of an Atrium API token.
func (a *Authenticator) fromToken(ctx context.Context, secret string) (*Principal, error) {
	t, err := a.p.Store.TokenGetByHash(ctx, hashSecret(secret))
	if fault.Is(err, fault.NotFound) {
		return nil, fault.New(fault.Unauthorized, "the token is not valid")
	}
	if err != nil {
		return nil, err
	}
	now := a.now()
	switch {
	case !t.RevokedAt.IsZero():
		return nil, fault.New(fault.Unauthorized, "the token %s was revoked", t.ID)
	case !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt):
		return nil, fault.New(fault.Unauthorized, "the token %s expired at %s", t.ID, t.ExpiresAt.Format(time.RFC3339))
	}
	if a.touches.due("t:"+t.ID, t.LastUsedAt, now) {
		if err := a.p.Store.TokenTouch(ctx, t.ID, now); err != nil {
			a.log.WarnContext(ctx, "recording token use", "token", t.ID, "error", err.Error())
		}
	}
	p := &Principal{Ref: t.Subject, Scopes: t.Scopes, Via: ViaToken, TokenID: t.ID, DisplayName: t.Name,
		Claims: map[string]any{"token": t.ID, "tokenName": t.Name}}
	if t.Kind == store.TokenService {
		p.Type = PrincipalService
		p.OwnershipRefs = []string{t.Subject}
		return p, nil
	}
	p.Type = PrincipalUser
	refs, name, err := a.res.ownership(ctx, t.Subject)
	if err != nil {
		return nil, err
	}
	p.OwnershipRefs, p.DisplayName = refs, name
	if p.DisplayName == "" {
		p.DisplayName = t.Subject
	}
	return p, nil
}

// ListTokens returns tokens; subject "" lists all (operators, CLI).
func (a *Authenticator) ListTokens(ctx context.Context, p store.TokenListParams) ([]store.Token, error) {
	return a.p.Store.TokenList(ctx, p)
}

// RevokeToken revokes a token; subject "" revokes any (operators, CLI).
func (a *Authenticator) RevokeToken(ctx context.Context, id, subject string) error {
	if err := a.p.Store.TokenRevoke(ctx, store.TokenRevokeParams{ID: id, Subject: subject, At: a.now()}); err != nil {
		return err
	}
	a.log.InfoContext(ctx, "token revoked", "token", id)
	return nil
}

// ScopeAllows reports whether token scopes allow a permission: no scopes
// allow everything; otherwise a scope must name the permission, be "*", or
// be a prefix ending in ".*" ("catalog.*" allows "catalog.entity.read").
// Authorization calls this for every decision about a scoped principal.
func ScopeAllows(scopes []string, permission string) bool {
	if len(scopes) == 0 {
		return true
	}
	for _, s := range scopes {
		if s == "*" || s == permission {
			return true
		}
		if prefix, ok := strings.CutSuffix(s, "*"); ok && strings.HasPrefix(permission, prefix) {
			return true
		}
	}
	return false
}
