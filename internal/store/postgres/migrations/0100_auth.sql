-- Authentication: server-side sessions, sign-ins in progress and API
-- tokens. Secrets are never stored, only their SHA-256 hashes. NULL times
-- are unset.
CREATE TABLE auth_sessions (
    id           text COLLATE "C" PRIMARY KEY,
    hash         text COLLATE "C" NOT NULL UNIQUE,
    user_ref     text COLLATE "C" NOT NULL,
    provider     text NOT NULL,
    identity     bytea NOT NULL,
    ip           text NOT NULL,
    user_agent   text NOT NULL,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
);
CREATE INDEX auth_sessions_user ON auth_sessions (user_ref, created_at);
CREATE INDEX auth_sessions_expires ON auth_sessions (expires_at);

CREATE TABLE auth_logins (
    hash       text COLLATE "C" PRIMARY KEY,
    provider   text NOT NULL,
    nonce      text NOT NULL,
    verifier   text NOT NULL,
    redirect   text NOT NULL,
    expires_at timestamptz NOT NULL
);

CREATE TABLE auth_tokens (
    id           text COLLATE "C" PRIMARY KEY,
    hash         text COLLATE "C" NOT NULL UNIQUE,
    kind         text NOT NULL,
    name         text NOT NULL,
    subject      text COLLATE "C" NOT NULL,
    created_by   text NOT NULL,
    scopes       jsonb NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX auth_tokens_subject ON auth_tokens (subject, created_at);
