-- The audit log: append-only, hash-chained. body is the canonical JSON the
-- hash covers; the other columns repeat parts of it for filtering.
CREATE TABLE audit_events (
    seq        bigint      PRIMARY KEY,
    at         timestamptz NOT NULL,
    actor      text        NOT NULL,
    action     text        NOT NULL,
    resource   text        NOT NULL,
    outcome    text        NOT NULL,
    request_id text        NOT NULL,
    body       text        NOT NULL,
    prev_hash  text        NOT NULL,
    hash       text        NOT NULL
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_actor ON audit_events (actor, seq);
CREATE INDEX audit_events_action ON audit_events (action, seq);

-- The chain head (one row, locked FOR UPDATE by every append so that
-- replicas never fork the chain): the last sequence number and hash, the
-- checkpoint standing for a pruned prefix, and the pruning flag that lets
-- the delete trigger through during a prune.
CREATE TABLE audit_head (
    id            integer     PRIMARY KEY CHECK (id = 1),
    seq           bigint      NOT NULL,
    hash          text        NOT NULL,
    cp_seq        bigint      NOT NULL DEFAULT 0,
    cp_hash       text        NOT NULL DEFAULT '',
    cp_count      bigint      NOT NULL DEFAULT 0,
    cp_pruned_at  timestamptz,
    cp_digest     text        NOT NULL DEFAULT '',
    pruning       boolean     NOT NULL DEFAULT false
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '');

CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND (SELECT pruning FROM audit_head WHERE id = 1) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
