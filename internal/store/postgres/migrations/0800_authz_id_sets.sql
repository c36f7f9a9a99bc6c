-- The id sets that authorized pages test (sqlplan's page memo), kept on the
-- server so that a steady page binds a 32-byte key instead of sending a
-- 12-31 KB bitmap each time (docs/benchmarks.md, issue #5). A cache: key is
-- sha256(bits), so a row holds exactly those bits whoever wrote it; a page
-- whose row is missing probes its conditions row by row. Unlogged (a crash
-- empties it, which only costs probes) and left out of backups. Rows unused
-- for an hour are deleted by the upserts that keep the others.
CREATE UNLOGGED TABLE authz_id_sets (
    key bytea PRIMARY KEY,
    bits bytea NOT NULL,
    used_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX authz_id_sets_used_at ON authz_id_sets (used_at);
