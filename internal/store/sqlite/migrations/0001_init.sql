-- Entities: one row per entity. id is internal (joins, full-text rowid);
-- uid is metadata.uid; ref is the canonical, lowercased entity ref.
CREATE TABLE entities (
    id           INTEGER PRIMARY KEY,
    uid          TEXT    NOT NULL UNIQUE,
    ref          TEXT    NOT NULL UNIQUE,
    kind         TEXT    NOT NULL,
    namespace    TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    body         BLOB    NOT NULL,
    hash         TEXT    NOT NULL,
    location_key TEXT    NOT NULL DEFAULT '',
    errors       TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX entities_kind ON entities (lower(kind));

-- Relations: rows produced by processing the originating entity, replaced
-- as a whole when it is written again.
CREATE TABLE relations (
    originating_ref TEXT NOT NULL,
    source_ref      TEXT NOT NULL,
    type            TEXT NOT NULL,
    type_lower      TEXT NOT NULL,
    target_ref      TEXT NOT NULL
);
CREATE INDEX relations_originating ON relations (originating_ref);
CREATE INDEX relations_source ON relations (source_ref, type_lower, target_ref);
CREATE INDEX relations_target ON relations (target_ref);
CREATE INDEX relations_type_target ON relations (type_lower, target_ref, source_ref);

-- Search: flattened, lowercased key/value rows for filters, ordering and
-- facets. is_min marks the row an entity sorts by for its key. The
-- (key, value, original, is_min) index serves filters, ordered walks and
-- facet counts without touching the table.
CREATE TABLE search (
    entity_id INTEGER NOT NULL,
    key       TEXT    NOT NULL,
    value     TEXT    NOT NULL,
    original  TEXT    NOT NULL,
    is_min    INTEGER NOT NULL,
    PRIMARY KEY (entity_id, key, value)
) WITHOUT ROWID;
CREATE INDEX search_key_value ON search (key, value, original, is_min);

-- Full text: contentless, rowid = entities.id.
CREATE VIRTUAL TABLE entities_fts USING fts5 (
    doc,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);

-- Edges: who emitted whom (a parent is an entity ref or a provider key).
CREATE TABLE edges (
    parent TEXT NOT NULL,
    child  TEXT NOT NULL,
    PRIMARY KEY (parent, child)
) WITHOUT ROWID;
CREATE INDEX edges_child ON edges (child, parent);

CREATE TABLE locations (
    id         TEXT    PRIMARY KEY,
    type       TEXT    NOT NULL,
    target     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (type, target)
);
CREATE INDEX locations_created ON locations (created_at, id);
