package store

import (
	"context"
	"time"
)

// AuthStore keeps what authentication needs: server-side sessions, the
// short-lived state of sign-ins in progress, and API tokens. Secrets are
// never stored: sessions and tokens are looked up by the SHA-256 hash of
// the value the caller holds.
type AuthStore interface {
	// SessionCreate stores a new session; fault.Conflict when the id or
	// hash exists.
	SessionCreate(ctx context.Context, s Session) error
	// SessionGet returns the session with the given secret hash;
	// fault.NotFound when absent.
	SessionGet(ctx context.Context, hash string) (*Session, error)
	// SessionTouch records that the session was used at at.
	SessionTouch(ctx context.Context, hash string, at time.Time) error
	// SessionList returns a user's sessions, newest first.
	SessionList(ctx context.Context, userRef string) ([]Session, error)
	// SessionDelete removes one session chosen by ID or Hash, only when it
	// belongs to UserRef if that is set; fault.NotFound when none matched.
	SessionDelete(ctx context.Context, p SessionDeleteParams) error
	// SessionDeleteExpired removes sessions past their absolute expiry at
	// p.Now or unused since p.IdleBefore, and returns how many.
	SessionDeleteExpired(ctx context.Context, p SessionExpireParams) (int64, error)

	// LoginCreate stores the state of a sign-in in progress.
	LoginCreate(ctx context.Context, l Login) error
	// LoginTake removes and returns the sign-in with the given state hash,
	// so that a state is used at most once; fault.NotFound when absent or
	// expired at now.
	LoginTake(ctx context.Context, hash string, now time.Time) (*Login, error)

	// TokenCreate stores an API token; fault.Conflict when the id or hash
	// exists.
	TokenCreate(ctx context.Context, t Token) error
	// TokenGetByHash returns the token with the given secret hash, revoked
	// or not; fault.NotFound when absent.
	TokenGetByHash(ctx context.Context, hash string) (*Token, error)
	// TokenList returns tokens matching p, newest first.
	TokenList(ctx context.Context, p TokenListParams) ([]Token, error)
	// TokenRevoke marks a token revoked at p.At, only when it belongs to
	// p.Subject if that is set; fault.NotFound when no unrevoked token
	// matched.
	TokenRevoke(ctx context.Context, p TokenRevokeParams) error
	// TokenTouch records that the token was used at at.
	TokenTouch(ctx context.Context, id string, at time.Time) error
}

// Session is a signed-in browser session.
type Session struct {
	// ID names the session on the Sessions page; it is not a secret.
	ID string
	// Hash is the hex SHA-256 of the secret cookie value.
	Hash     string
	UserRef  string
	Provider string
	// Identity is the resolved identity as JSON (ownership refs, display
	// name, selected claims), owned by internal/auth.
	Identity   []byte
	IP         string
	UserAgent  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	// ExpiresAt is the absolute expiry.
	ExpiresAt time.Time
}

// SessionDeleteParams choose the session to delete.
type SessionDeleteParams struct {
	ID      string
	Hash    string
	UserRef string
}

// SessionExpireParams say which sessions have expired.
type SessionExpireParams struct {
	Now        time.Time
	IdleBefore time.Time
}

// Login is a sign-in in progress: the browser was sent to the identity
// provider and will come back with Hash's state.
type Login struct {
	// Hash is the hex SHA-256 of the state parameter.
	Hash     string
	Provider string
	// Nonce and Verifier (PKCE) are only useful with the authorization
	// code that the provider sends back; the row is used once and expires
	// within minutes.
	Nonce     string
	Verifier  string
	Redirect  string
	ExpiresAt time.Time
}

// The token kinds.
const (
	TokenPersonal = "personal"
	TokenService  = "service"
)

// Token is an API token.
type Token struct {
	// ID names the token in lists and for revocation; it is not a secret.
	ID string
	// Hash is the hex SHA-256 of the secret token.
	Hash string
	// Kind is TokenPersonal or TokenService.
	Kind string
	Name string
	// Subject is the user ref (personal tokens) or "service:<name>".
	Subject string
	// CreatedBy is who created it (a user ref, or "cli").
	CreatedBy string
	Scopes    []string
	CreatedAt time.Time
	// ExpiresAt, LastUsedAt and RevokedAt are zero when unset.
	ExpiresAt  time.Time
	LastUsedAt time.Time
	RevokedAt  time.Time
}

// TokenListParams select tokens; zero values select all.
type TokenListParams struct {
	Subject        string
	Kind           string
	IncludeRevoked bool
}

// TokenRevokeParams choose the token to revoke.
type TokenRevokeParams struct {
	ID      string
	Subject string
	At      time.Time
}
