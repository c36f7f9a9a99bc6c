-- The planner estimated a search leaf (key = k AND value = v) as if key and
-- value were independent: spec.type = website (9k rows at 100k entities)
-- came out at about 400, and kind = component (45k) at 2.7k. On those
-- estimates a first page of one kind by name filtered by a common type
-- read every matching entity and sorted them (0.15-0.3 s) instead of
-- walking entities_kind_name until the page was full (under 1 ms), and
-- facets within a kind nested-looped over 45k ids. Multivariate MCV
-- statistics give the common (key, value) pairs their own frequencies.
CREATE STATISTICS IF NOT EXISTS search_key_value_mcv (mcv) ON key, value FROM search;
ANALYZE search;
