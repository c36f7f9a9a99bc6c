-- Relations become a WITHOUT ROWID table keyed by what reads look up
-- (an entity's outgoing relations, the relations.<type>=<ref> filter), so
-- those reads need no table lookup. relations_target served no query and
-- cost an index insert per row; it is gone.
CREATE TABLE relations_lean (
    originating_ref TEXT NOT NULL,
    source_ref      TEXT NOT NULL,
    type            TEXT NOT NULL,
    type_lower      TEXT NOT NULL,
    target_ref      TEXT NOT NULL,
    PRIMARY KEY (source_ref, type_lower, target_ref, originating_ref, type)
) WITHOUT ROWID;
INSERT OR IGNORE INTO relations_lean (originating_ref, source_ref, type, type_lower, target_ref)
    SELECT originating_ref, source_ref, type, type_lower, target_ref FROM relations;
DROP TABLE relations;
ALTER TABLE relations_lean RENAME TO relations;
CREATE INDEX relations_originating ON relations (originating_ref);
CREATE INDEX relations_type_target ON relations (type_lower, target_ref, source_ref);
