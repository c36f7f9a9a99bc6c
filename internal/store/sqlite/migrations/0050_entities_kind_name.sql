-- The catalog page lists one kind by name. Walking the name rows of the
-- search index visits every entity whose name sorts before the first one
-- of that kind (17k rows before the first component at 100k entities);
-- this index walks one kind's entities in name order. lower(name) equals
-- the metadata.name search value: names are ASCII.
CREATE INDEX IF NOT EXISTS entities_kind_name ON entities (lower(kind), lower(name), uid);
