-- The catalog page lists one kind by name (see the SQLite migration). The
-- "C" collation makes the order the search index's (byte order).
CREATE INDEX IF NOT EXISTS entities_kind_name ON entities (lower(kind), (lower(name) COLLATE "C"), uid);
