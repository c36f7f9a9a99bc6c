package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
)

// authMicros stores a time as unix microseconds, 0 for the zero time.
func authMicros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// authTime reads what authMicros stored.
func authTime(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

// SessionCreate stores a new session.
func (db *DB) SessionCreate(ctx context.Context, s store.Session) error {
	if s.ID == "" || s.Hash == "" || s.UserRef == "" {
		return fault.New(fault.Invalid, "session needs an id, a hash and a user")
	}
	res, err := db.write.ExecContext(ctx, `INSERT INTO auth_sessions
		(id, hash, user_ref, provider, identity, ip, user_agent, created_at, last_seen_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		s.ID, s.Hash, s.UserRef, s.Provider, authBytes(s.Identity), s.IP, s.UserAgent,
		authMicros(s.CreatedAt), authMicros(s.LastSeenAt), authMicros(s.ExpiresAt))
	if err != nil {
		return dbErr(ctx, err, "create session")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fault.New(fault.Conflict, "session %s already exists", s.ID)
	}
	return nil
}

func authBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

const sessionColumns = "id, hash, user_ref, provider, identity, ip, user_agent, created_at, last_seen_at, expires_at"

func scanSession(row rowScanner) (store.Session, error) {
	var s store.Session
	var created, seen, expires int64
	err := row.Scan(&s.ID, &s.Hash, &s.UserRef, &s.Provider, &s.Identity, &s.IP, &s.UserAgent, &created, &seen, &expires)
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = authTime(created), authTime(seen), authTime(expires)
	return s, err
}

// SessionGet returns the session with the given hash.
func (db *DB) SessionGet(ctx context.Context, hash string) (*store.Session, error) {
	s, err := scanSession(db.read.QueryRowContext(ctx, "SELECT "+sessionColumns+" FROM auth_sessions WHERE hash = ?", hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fault.New(fault.NotFound, "no such session")
	}
	if err != nil {
		return nil, dbErr(ctx, err, "get session")
	}
	return &s, nil
}

// SessionTouch records the session's last use.
func (db *DB) SessionTouch(ctx context.Context, hash string, at time.Time) error {
	if _, err := db.write.ExecContext(ctx, "UPDATE auth_sessions SET last_seen_at = ? WHERE hash = ?", authMicros(at), hash); err != nil {
		return dbErr(ctx, err, "touch session")
	}
	return nil
}

// SessionList returns a user's sessions, newest first.
func (db *DB) SessionList(ctx context.Context, userRef string) ([]store.Session, error) {
	return appendRows(ctx, db.read, []store.Session{}, "sessions", "SELECT "+sessionColumns+" FROM auth_sessions WHERE user_ref = ? ORDER BY created_at DESC, id", []any{userRef}, scanSession)
}

// SessionDelete removes one session.
func (db *DB) SessionDelete(ctx context.Context, p store.SessionDeleteParams) error {
	where, args := []string{}, []any{}
	if p.ID != "" {
		where, args = append(where, "id = ?"), append(args, p.ID)
	}
	if p.Hash != "" {
		where, args = append(where, "hash = ?"), append(args, p.Hash)
	}
	if len(where) == 0 {
		return fault.New(fault.Invalid, "session delete needs an id or a hash")
	}
	if p.UserRef != "" {
		where, args = append(where, "user_ref = ?"), append(args, p.UserRef)
	}
	res, err := db.write.ExecContext(ctx, "DELETE FROM auth_sessions WHERE "+strings.Join(where, " AND "), args...)
	if err != nil {
		return dbErr(ctx, err, "delete session")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fault.New(fault.NotFound, "no such session")
	}
	return nil
}

// SessionDeleteExpired removes expired and idle sessions.
func (db *DB) SessionDeleteExpired(ctx context.Context, p store.SessionExpireParams) (int64, error) {
	res, err := db.write.ExecContext(ctx, "DELETE FROM auth_sessions WHERE expires_at <= ? OR last_seen_at < ?",
		authMicros(p.Now), authMicros(p.IdleBefore))
	if err != nil {
		return 0, dbErr(ctx, err, "delete expired sessions")
	}
	n, _ := res.RowsAffected()
	// Abandoned sign-ins go with them.
	if _, err := db.write.ExecContext(ctx, "DELETE FROM auth_logins WHERE expires_at <= ?", authMicros(p.Now)); err != nil {
		return n, dbErr(ctx, err, "delete expired sign-ins")
	}
	return n, nil
}

// LoginCreate stores a sign-in in progress.
func (db *DB) LoginCreate(ctx context.Context, l store.Login) error {
	if l.Hash == "" || l.Provider == "" {
		return fault.New(fault.Invalid, "sign-in state needs a hash and a provider")
	}
	if _, err := db.write.ExecContext(ctx, `INSERT INTO auth_logins (hash, provider, nonce, verifier, redirect, expires_at)
		VALUES (?, ?, ?, ?, ?, ?)`, l.Hash, l.Provider, l.Nonce, l.Verifier, l.Redirect, authMicros(l.ExpiresAt)); err != nil {
		return dbErr(ctx, err, "create sign-in state")
	}
	return nil
}

// LoginTake removes and returns a sign-in in progress.
func (db *DB) LoginTake(ctx context.Context, hash string, now time.Time) (*store.Login, error) {
	var l store.Login
	var expires int64
	err := db.write.QueryRowContext(ctx, `DELETE FROM auth_logins WHERE hash = ?
		RETURNING hash, provider, nonce, verifier, redirect, expires_at`, hash).
		Scan(&l.Hash, &l.Provider, &l.Nonce, &l.Verifier, &l.Redirect, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fault.New(fault.NotFound, "no such sign-in in progress")
	}
	if err != nil {
		return nil, dbErr(ctx, err, "take sign-in state")
	}
	l.ExpiresAt = authTime(expires)
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
	scopes, err := json.Marshal(authStrings(t.Scopes))
	if err != nil {
		return fault.Wrap(fault.Internal, err, "encode scopes")
	}
	res, err := db.write.ExecContext(ctx, `INSERT INTO auth_tokens
		(id, hash, kind, name, subject, created_by, scopes, created_at, expires_at, last_used_at, revoked_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		t.ID, t.Hash, t.Kind, t.Name, t.Subject, t.CreatedBy, string(scopes),
		authMicros(t.CreatedAt), authMicros(t.ExpiresAt), authMicros(t.LastUsedAt), authMicros(t.RevokedAt))
	if err != nil {
		return dbErr(ctx, err, "create token")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fault.New(fault.Conflict, "token %s already exists", t.ID)
	}
	return nil
}

func authStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

const tokenColumns = "id, hash, kind, name, subject, created_by, scopes, created_at, expires_at, last_used_at, revoked_at"

func scanToken(row rowScanner) (store.Token, error) {
	var t store.Token
	var scopes string
	var created, expires, used, revoked int64
	if err := row.Scan(&t.ID, &t.Hash, &t.Kind, &t.Name, &t.Subject, &t.CreatedBy, &scopes,
		&created, &expires, &used, &revoked); err != nil {
		return t, err
	}
	t.CreatedAt, t.ExpiresAt, t.LastUsedAt, t.RevokedAt = authTime(created), authTime(expires), authTime(used), authTime(revoked)
	if err := json.Unmarshal([]byte(scopes), &t.Scopes); err != nil {
		return t, err
	}
	return t, nil
}

// TokenGetByHash returns the token with the given hash.
func (db *DB) TokenGetByHash(ctx context.Context, hash string) (*store.Token, error) {
	t, err := scanToken(db.read.QueryRowContext(ctx, "SELECT "+tokenColumns+" FROM auth_tokens WHERE hash = ?", hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fault.New(fault.NotFound, "no such token")
	}
	if err != nil {
		return nil, dbErr(ctx, err, "get token")
	}
	return &t, nil
}

// TokenList returns tokens, newest first.
func (db *DB) TokenList(ctx context.Context, p store.TokenListParams) ([]store.Token, error) {
	where, args := []string{"1 = 1"}, []any{}
	if p.Subject != "" {
		where, args = append(where, "subject = ?"), append(args, p.Subject)
	}
	if p.Kind != "" {
		where, args = append(where, "kind = ?"), append(args, p.Kind)
	}
	if !p.IncludeRevoked {
		where = append(where, "revoked_at = 0")
	}
	return appendRows(ctx, db.read, []store.Token{}, "tokens", "SELECT "+tokenColumns+" FROM auth_tokens WHERE "+
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
	q, args := "UPDATE auth_tokens SET revoked_at = ? WHERE id = ? AND revoked_at = 0", []any{authMicros(at), p.ID}
	if p.Subject != "" {
		q, args = q+" AND subject = ?", append(args, p.Subject)
	}
	res, err := db.write.ExecContext(ctx, q, args...)
	if err != nil {
		return dbErr(ctx, err, "revoke token")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fault.New(fault.NotFound, "no active token with id %s", p.ID)
	}
	return nil
}

// TokenTouch records a token's last use.
func (db *DB) TokenTouch(ctx context.Context, id string, at time.Time) error {
	if _, err := db.write.ExecContext(ctx, "UPDATE auth_tokens SET last_used_at = ? WHERE id = ?", authMicros(at), id); err != nil {
		return dbErr(ctx, err, "touch token")
	}
	return nil
}
