-- Authentication: server-side sessions, sign-ins in progress and API
-- tokens. Secrets are never stored, only their SHA-256 hashes. Times are
-- unix microseconds; 0 means unset.
CREATE TABLE auth_sessions (
    id           TEXT    PRIMARY KEY,
    hash         TEXT    NOT NULL UNIQUE,
    user_ref     TEXT    NOT NULL,
    provider     TEXT    NOT NULL,
    identity     BLOB    NOT NULL,
    ip           TEXT    NOT NULL,
    user_agent   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX auth_sessions_user ON auth_sessions (user_ref, created_at);
CREATE INDEX auth_sessions_expires ON auth_sessions (expires_at);

CREATE TABLE auth_logins (
    hash       TEXT    PRIMARY KEY,
    provider   TEXT    NOT NULL,
    nonce      TEXT    NOT NULL,
    verifier   TEXT    NOT NULL,
    redirect   TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE TABLE auth_tokens (
    id           TEXT    PRIMARY KEY,
    hash         TEXT    NOT NULL UNIQUE,
    kind         TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    subject      TEXT    NOT NULL,
    created_by   TEXT    NOT NULL,
    scopes       TEXT    NOT NULL, -- JSON array
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    revoked_at   INTEGER NOT NULL
);
CREATE INDEX auth_tokens_subject ON auth_tokens (subject, created_at);
