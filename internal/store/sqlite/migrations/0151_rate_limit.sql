-- Token buckets for rate limits kept in the database (atrium.rateLimit.store: database).
CREATE TABLE rate_buckets (
    key        TEXT    PRIMARY KEY,
    tokens     REAL    NOT NULL,
    updated_at INTEGER NOT NULL -- unix microseconds
) WITHOUT ROWID;
