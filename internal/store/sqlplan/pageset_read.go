package sqlplan

import (
	"slices"
	"strconv"
	"strings"

	"github.com/atrium-portal/atrium/internal/fault"
)

// oneRead brings cached leaf sets up to date on PostgreSQL in one
// statement: it reads the change log past the cache's frontier and patches
// the cached leaves for the ids it finds there (and those earlier syncs
// logged), in the same snapshot, instead of reading the log first and
// patching in a second round trip. A leaf not cached is read whole by the
// same statement.
//
// Every read after a write pays for that second round trip otherwise (a
// page's total counted after the page, or the sets an authorized page
// tests). The patch probes the ids the statement's log_ids CTE holds,
// which it also returns, so the client knows which bits it replaced.
//
// Those ids are an array, unnested where they are probed: a generic plan
// estimates a third of the log for a range of it (tens of thousands of
// rows after an import), and so sized hash tables for them and compiled
// the statement (JIT) on every run, seconds instead of 0.1 ms; an unnested
// array is estimated at ten rows, as the changed ids were when the client
// sent them.
// When the log cannot say what changed, the answer is thrown away and the
// sets are read again, as before.
type oneRead struct {
	c        *SetCache
	leaves   []*cacheLeaf
	frontier uint64
	epoch    uint64
}

// statement returns the query and its arguments; generic is true when it
// only patches (its plan does not depend on the values).
func (rd *oneRead) statement() (query string, args []any, generic bool, err error) {
	c := rd.c
	b := NewBuilder(c.d)
	since := changesSince(b, c.d, rd.frontier)
	parts := []string{
		c.frontierSQL(),
		"(SELECT below::text FROM entity_changes_pruned)",
		"(SELECT array_to_string(ids, ',') FROM log_ids)",
		seenSQL(),
	}
	generic = true
	for _, l := range rd.leaves {
		if l.hit != nil && len(l.pending) > maxPending {
			l.hit, l.pending = nil, nil
		}
		l.withLog = l.hit != nil
		q, err := c.leafSQL(b, l)
		if err != nil {
			return "", nil, false, err
		}
		if l.hit == nil {
			generic = false
			parts = append(parts, "coalesce(("+q+"), '')")
			continue
		}
		// Past maxPending changes the sets are read again (see
		// SetCache.lost): probing them all first would be wasted.
		parts = append(parts, "CASE WHEN (SELECT cardinality(ids) FROM log_ids) <= "+itoa(maxPending)+
			" THEN coalesce(("+q+"), '') ELSE '' END")
	}
	if len(b.args) > MaxParams {
		return "", nil, false, fault.New(fault.Invalid, "filter has too many values (over %d)", MaxParams)
	}
	// The log's ids are one array: unnested, the planner expects a few of
	// them whatever the log holds (see changedFrom).
	// log_dist is the log's ids once each, for the patches of leaves
	// with nothing pending (see changedFrom); a CTE, it is computed only
	// if a patch reads it.
	query = "WITH " + pgFrontierWith + ", log_ids AS MATERIALIZED (SELECT ARRAY(SELECT entity_id FROM entity_changes WHERE " + since + ") AS ids)" +
		", log_dist AS MATERIALIZED (SELECT DISTINCT unnest(ids) AS id FROM log_ids) SELECT " +
		strings.Join(parts, " || ';' || ")
	return query, b.Args(), generic, nil
}

// finish applies the statement's answer; see SetCache.read.
func (rd *oneRead) finish(text string) (asOf setsAsOf, ok, retry bool, err error) {
	c := rd.c
	fields := strings.Split(text, ";")
	if len(fields) != 4+len(rd.leaves) {
		return asOf, false, false, fault.New(fault.Internal, "counting: unexpected answer with %d fields", len(fields))
	}
	next, err := strconv.ParseUint(fields[0], 10, 64)
	if err != nil {
		return asOf, false, false, fault.Wrap(fault.Internal, err, "counting: reading the change log")
	}
	changed, err := parseIDList(fields[2])
	if err != nil {
		return asOf, false, false, err
	}
	if asOf.seen, err = strconv.Atoi(fields[3]); err != nil {
		return asOf, false, false, fault.Wrap(fault.Internal, err, "counting: reading the change log")
	}
	// A negative id (the entities were truncated) names no entity.
	if c.lost(rd.frontier, next, fields[1], len(changed)) || slices.ContainsFunc(changed, func(id int64) bool { return id < 0 }) {
		c.resetIf(true, rd.frontier, rd.epoch)
		return asOf, true, true, nil
	}
	for i, l := range rd.leaves {
		if l.hit != nil {
			l.pending = append(l.pending, changed...)
		}
		if ok, err := l.apply(fields[4+i]); err != nil || !ok {
			return asOf, ok, false, err
		}
	}
	asOf.known, asOf.frontier = true, next
	c.store(rd.leaves, true, rd.frontier, rd.epoch, next, changed)
	return asOf, true, false, nil
}
