-- The audit log: append-only, hash-chained. body is the canonical JSON the
-- hash covers; the other columns repeat parts of it for filtering.
CREATE TABLE audit_events (
    seq        INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL, -- unix microseconds
    actor      TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    resource   TEXT    NOT NULL,
    outcome    TEXT    NOT NULL,
    request_id TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    prev_hash  TEXT    NOT NULL,
    hash       TEXT    NOT NULL
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_actor ON audit_events (actor, seq);
CREATE INDEX audit_events_action ON audit_events (action, seq);

-- The chain head (one row): the last sequence number and hash, the
-- checkpoint standing for a pruned prefix, and the pruning flag that lets
-- the delete trigger through during a prune.
CREATE TABLE audit_head (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    seq           INTEGER NOT NULL,
    hash          TEXT    NOT NULL,
    cp_seq        INTEGER NOT NULL DEFAULT 0,
    cp_hash       TEXT    NOT NULL DEFAULT '',
    cp_count      INTEGER NOT NULL DEFAULT 0,
    cp_pruned_at  INTEGER NOT NULL DEFAULT 0,
    cp_digest     TEXT    NOT NULL DEFAULT '',
    pruning       INTEGER NOT NULL DEFAULT 0
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '');

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
WHEN (SELECT pruning FROM audit_head WHERE id = 1) = 0
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
