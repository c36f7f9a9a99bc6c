-- Token buckets for rate limits kept in the database (atrium.rateLimit.store: database).
-- Unlogged: buckets are cheap to lose in a crash and cost no WAL.
CREATE UNLOGGED TABLE rate_buckets (
    key        text             PRIMARY KEY,
    tokens     double precision NOT NULL,
    updated_at timestamptz      NOT NULL,
    allowed    boolean          NOT NULL DEFAULT true
);
