-- entity_changes_dirty lists the entities whose membership of a page's
-- cached id sets may have changed since those sets were read (see
-- deferredRead.cond in internal/store/sqlplan/pageset_defer.go): the ids
-- logged at or past frontier, the ids earlier syncs logged that a leaf has
-- not applied yet (pending), the sources of the relation rows of the given
-- types that those entities originate, and the cached (origin, source)
-- pairs whose origin is among them. It returns NULL when the log cannot
-- say: it was pruned at or past frontier, it holds a truncation (-1), or
-- more than 1000 rows; the page then probes every row.
--
-- The page called it as an inline sub-query before, whose dozen sub-plans
-- PostgreSQL set up when binding every page, run or not; here the
-- function's statements run only when reached, and in the steady state
-- (nothing logged, nothing pending) only the first two do. STABLE: its
-- statements read the calling statement's snapshot, so the list is exact
-- for the page that tests it.
CREATE FUNCTION entity_changes_dirty(frontier xid8, pending bigint[], types text[], origins bigint[], sources bigint[])
RETURNS bigint[] LANGUAGE plpgsql STABLE AS $$
DECLARE
    logged bigint[];
    dirty  bigint[];
BEGIN
    IF ((SELECT below FROM entity_changes_pruned) < frontier) IS NOT TRUE THEN
        RETURN NULL;
    END IF;
    -- The bound is a sub-query, as in the statements that read the log
    -- (changesSince): the generic plan then estimates it as a custom one.
    logged := ARRAY(SELECT entity_id FROM entity_changes WHERE xid >= (SELECT frontier) LIMIT 1001);
    IF cardinality(logged) > 1000 OR 0 > ANY (logged) THEN
        RETURN NULL;
    END IF;
    dirty := logged || pending;
    IF cardinality(dirty) = 0 THEN
        RETURN dirty;
    END IF;
    IF cardinality(types) > 0 THEN
        dirty := dirty || ARRAY(SELECT s.id FROM unnest(logged || pending) AS c(id)
            CROSS JOIN LATERAL (SELECT ref FROM entities WHERE id = c.id OFFSET 0) o
            CROSS JOIN LATERAL (SELECT r.source_ref FROM relations r
                WHERE r.originating_ref = o.ref AND r.type_lower = ANY (types) OFFSET 0) r
            CROSS JOIN LATERAL (SELECT id FROM entities WHERE ref = r.source_ref OFFSET 0) s);
    END IF;
    IF cardinality(origins) > 0 THEN
        dirty := dirty || ARRAY(SELECT p.s FROM unnest(origins, sources) AS p(o, s)
            WHERE p.o = ANY (logged || pending));
    END IF;
    RETURN dirty;
END
$$;
