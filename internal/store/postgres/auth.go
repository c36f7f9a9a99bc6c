package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
)

// authTime is a nullable time: NULL for the zero time.
func authTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// authTimeOf reads what authTime stored.
func authTimeOf(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// SessionCreate stores a new session.
func (db *DB) SessionCreate(ctx context.Context, s store.Session) error {
	if s.ID == "" || s.Hash == "" || s.UserRef == "" {
		return fault.New(fault.Invalid, "session needs an id, a hash and a user")
	}
	identity := s.Identity
	if identity == nil {
		identity = []byte{}
	}
	tag, err := db.pool.Exec(ctx, `INSERT INTO auth_sessions
		(id, hash, user_ref, provider, identity, ip, user_agent, created_at, last_seen_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING`,
		s.ID, s.Hash, s.UserRef, s.Provider, identity, s.IP, s.UserAgent, s.CreatedAt, s.LastSeenAt, s.ExpiresAt)
	if err != nil {
		return dbErr(ctx, err, "create session")
	}
	if tag.RowsAffected() == 0 {
		return fault.New(fault.Conflict, "session %s already exists", s.ID)
	}
	return nil
}

const sessionColumns = "id, hash, user_ref, provider, identity, ip, user_agent, created_at, last_seen_at, expires_at"

func scanSession(row pgx.Row) (store.Session, error) {
	var s store.Session
	err := row.Scan(&s.ID, &s.Hash, &s.UserRef, &s.Provider, &s.Identity, &s.IP, &s.UserAgent, &s.CreatedAt, &s.LastSeenAt, &s.ExpiresAt)
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = s.CreatedAt.UTC(), s.LastSeenAt.UTC(), s.ExpiresAt.UTC()
	return s, err
}

// SessionGet returns the session with the given hash.
func (db *DB) SessionGet(ctx context.Context, hash string) (*store.Session, error) {
	s, err := scanSession(db.pool.QueryRow(ctx, "SELECT "+sessionColumns+" FROM auth_sessions WHERE hash = $1", hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fault.New(fault.NotFound, "no such session")
	}
	if err != nil {
		return nil, dbErr(ctx, err, "get session")
	}
	return &s, nil
}

// SessionTouch records the session's last use.
func (db *DB) SessionTouch(ctx context.Context, hash string, at time.Time) error {
	if _, err := db.pool.Exec(ctx, "UPDATE auth_sessions SET last_seen_at = $1 WHERE hash = $2", at, hash); err != nil {
		return dbErr(ctx, err, "touch session")
	}
	return nil
}

// SessionList returns a user's sessions, newest first.
func (db *DB) SessionList(ctx context.Context, userRef string) ([]store.Session, error) {
	return appendRows(ctx, db.pool, []store.Session{}, "sessions", "SELECT "+sessionColumns+" FROM auth_sessions WHERE user_ref = $1 ORDER BY created_at DESC, id", []any{userRef}, scanSession)
}

// SessionDelete removes one session.
func (db *DB) SessionDelete(ctx context.Context, p store.SessionDeleteParams) error {
	where, args := []string{}, []any{}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, cond+" = $"+strconv.Itoa(len(args)))
	}
	if p.ID != "" {
		add("id", p.ID)
	}
	if p.Hash != "" {
		add("hash", p.Hash)
	}
	if len(where) == 0 {
		return fault.New(fault.Invalid, "session delete needs an id or a hash")
	}
	if p.UserRef != "" {
		add("user_ref", p.UserRef)
	}
	tag, err := db.pool.Exec(ctx, "DELETE FROM auth_sessions WHERE "+strings.Join(where, " AND "), args...)
	if err != nil {
		return dbErr(ctx, err, "delete session")
	}
	if tag.RowsAffected() == 0 {
		return fault.New(fault.NotFound, "no such session")
	}
	return nil
}

// SessionDeleteExpired removes expired and idle sessions.
func (db *DB) SessionDeleteExpired(ctx context.Context, p store.SessionExpireParams) (int64, error) {
	tag, err := db.pool.Exec(ctx, "DELETE FROM auth_sessions WHERE expires_at <= $1 OR last_seen_at < $2", p.Now, p.IdleBefore)
	if err != nil {
		return 0, dbErr(ctx, err, "delete expired sessions")
	}
	// Abandoned sign-ins go with them.
	if _, err := db.pool.Exec(ctx, "DELETE FROM auth_logins WHERE expires_at <= $1", p.Now); err != nil {
		return tag.RowsAffected(), dbErr(ctx, err, "delete expired sign-ins")
	}
	return tag.RowsAffected(), nil
}

// LoginCreate stores a sign-in in progress.
func (db *DB) LoginCreate(ctx context.Context, l store.Login) error {
	if l.Hash == "" || l.Provider == "" {
		return fault.New(fault.Invalid, "sign-in state needs a hash and a provider")
	}
	if _, err := db.pool.Exec(ctx, `INSERT INTO auth_logins (hash, provider, nonce, verifier, redirect, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, l.Hash, l.Provider, l.Nonce, l.Verifier, l.Redirect, l.ExpiresAt); err != nil {
		return dbErr(ctx, err, "create sign-in state")
	}
	return nil
}

// LoginTake removes and returns a sign-in in progress.
func (db *DB) LoginTake(ctx context.Context, hash string, now time.Time) (*store.Login, error) {
	var l store.Login
	err := db.pool.QueryRow(ctx, `DELETE FROM auth_logins WHERE hash = $1
		RETURNING hash, provider, nonce, verifier, redirect, expires_at`, hash).
		Scan(&l.Hash, &l.Provider, &l.Nonce, &l.Verifier, &l.Redirect, &l.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fault.New(fault.NotFound, "no such sign-in in progress")
	}
	if err != nil {
		return nil, dbErr(ctx, err, "take sign-in state")
	}
	l.ExpiresAt = l.ExpiresAt.UTC()
	if !now.Before(l.ExpiresAt) {
		return nil, fault.New(fault.NotFound, "the sign-in expired")
	}
	return &l, nil
}

// TokenCreate stores an API token.
func (db *DB) TokenCreate(ctx context.Context, t store.Token) error {
	if t.ID == "" || t.Hash == "" || t.Subject == "" || t.Kind == "" {
		return fault.New(fault.Invalid, "token needs an id, a hash, a kind and a subject")
	}
	scopes := t.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	enc, err := json.Marshal(scopes)
	if err != nil {
		return fault.Wrap(fault.Internal, err, "encode scopes")
	}
	tag, err := db.pool.Exec(ctx, `INSERT INTO auth_tokens
		(id, hash, kind, name, subject, created_by, scopes, created_at, expires_at, last_used_at, revoked_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING`,
		t.ID, t.Hash, t.Kind, t.Name, t.Subject, t.CreatedBy, string(enc),
		t.CreatedAt, authTime(t.ExpiresAt), authTime(t.LastUsedAt), authTime(t.RevokedAt))
	if err != nil {
		return dbErr(ctx, err, "create token")
	}
	if tag.RowsAffected() == 0 {
		return fault.New(fault.Conflict, "token %s already exists", t.ID)
	}
	return nil
}

const tokenColumns = "id, hash, kind, name, subject, created_by, scopes::text, created_at, expires_at, last_used_at, revoked_at"

func scanToken(row pgx.Row) (store.Token, error) {
	var t store.Token
	var scopes string
	var expires, used, revoked *time.Time
	if err := row.Scan(&t.ID, &t.Hash, &t.Kind, &t.Name, &t.Subject, &t.CreatedBy, &scopes,
		&t.CreatedAt, &expires, &used, &revoked); err != nil {
		return t, err
	}
	t.CreatedAt = t.CreatedAt.UTC()
	t.ExpiresAt, t.LastUsedAt, t.RevokedAt = authTimeOf(expires), authTimeOf(used), authTimeOf(revoked)
	if err := json.Unmarshal([]byte(scopes), &t.Scopes); err != nil {
		return t, err
	}
	return t, nil
}

// TokenGetByHash returns the token with the given hash.
func (db *DB) TokenGetByHash(ctx context.Context, hash string) (*store.Token, error) {
	t, err := scanToken(db.pool.QueryRow(ctx, "SELECT "+tokenColumns+" FROM auth_tokens WHERE hash = $1", hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fault.New(fault.NotFound, "no such token")
	}
	if err != nil {
		return nil, dbErr(ctx, err, "get token")
	}
	return &t, nil
}

// TokenList returns tokens, newest first.
func (db *DB) TokenList(ctx context.Context, p store.TokenListParams) ([]store.Token, error) {
	where, args := []string{"true"}, []any{}
	if p.Subject != "" {
		args = append(args, p.Subject)
		where = append(where, "subject = $"+strconv.Itoa(len(args)))
	}
	if p.Kind != "" {
		args = append(args, p.Kind)
		where = append(where, "kind = $"+strconv.Itoa(len(args)))
	}
	if !p.IncludeRevoked {
		where = append(where, "revoked_at IS NULL")
	}
	return appendRows(ctx, db.pool, []store.Token{}, "tokens", "SELECT "+tokenColumns+" FROM auth_tokens WHERE "+
		strings.Join(where, " AND ")+" ORDER BY created_at DESC, id", args, scanToken)
}

// TokenRevoke marks a token revoked.
func (db *DB) TokenRevoke(ctx context.Context, p store.TokenRevokeParams) error {
	if p.ID == "" {
		return fault.New(fault.Invalid, "token revoke needs an id")
	}
	at := p.At
	if at.IsZero() {
		at = time.Now()
	}
	q, args := "UPDATE auth_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL", []any{at, p.ID}
	if p.Subject != "" {
		q, args = q+" AND subject = $3", append(args, p.Subject)
	}
	tag, err := db.pool.Exec(ctx, q, args...)
	if err != nil {
		return dbErr(ctx, err, "revoke token")
	}
	if tag.RowsAffected() == 0 {
		return fault.New(fault.NotFound, "no active token with id %s", p.ID)
	}
	return nil
}

// TokenTouch records a token's last use.
func (db *DB) TokenTouch(ctx context.Context, id string, at time.Time) error {
	if _, err := db.pool.Exec(ctx, "UPDATE auth_tokens SET last_used_at = $1 WHERE id = $2", at, id); err != nil {
		return dbErr(ctx, err, "touch token")
	}
	return nil
}
