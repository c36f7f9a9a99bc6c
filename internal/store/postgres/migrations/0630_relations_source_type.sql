-- A lookup reads an entity's relations (type and target) through
-- relations_source; type (the original spelling) was not in the index, so
-- every relation row cost a heap fetch. Carrying it in the index lets the
-- lookup's subquery run as an index-only scan.
DROP INDEX IF EXISTS relations_source;
CREATE INDEX relations_source ON relations (source_ref, type_lower, target_ref) INCLUDE (type);
