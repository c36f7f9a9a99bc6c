package sqlplan

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
)

// CachingRunner is a TextRunner whose store keeps the id sets of filter
// leaves between counts.
type CachingRunner interface {
	TextRunner
	SetCache() *SetCache
}

// GenericRunner is a TextRunner that can also run a statement under one
// generic plan, made once and reused, where its engine would otherwise plan
// every execution for its parameter values. The log reads and the patches
// of cached sets probe a few changed ids by primary key whatever the
// values, so their plan never depends on them; planning them on every
// count cost more than running them.
type GenericRunner interface {
	TextRunner
	TextGeneric(ctx context.Context, query string, args []any) (string, error)
}

// textGeneric runs query through r's generic plan when r has one.
func textGeneric(ctx context.Context, r TextRunner, query string, args []any) (string, error) {
	if g, ok := r.(GenericRunner); ok {
		return g.TextGeneric(ctx, query, args)
	}
	return r.Text(ctx, query, args)
}

// maxPending bounds the entity changes a count applies to the cached sets;
// past it the sets are read again, which costs about what patching them
// would.
const maxPending = 20000

// maxCachedSets and maxCachedBytes bound the cache; when either is passed
// it starts over.
const (
	maxCachedSets  = 256
	maxCachedBytes = 64 << 20
)

// maxBatches bounds the change batches kept for sets that were not used
// since; a set older than the oldest batch is read again.
const maxBatches = 64

// SetCache keeps the entity ids that filter leaves select, so that a total
// counted after a write reads only what the write changed instead of every
// leaf's whole index range.
//
// The database logs the id of every entity row written (the entity_changes
// table, filled by triggers on entities). An entity's search rows and the
// relation rows it originates change only with its row, so the log names
// every entity whose leaves may have changed: for a search leaf, the
// changed entities themselves; for a relation leaf, the relations they
// originate and the relations whose source they are (a source that
// appears or goes away). A relation leaf is kept as (originating entity,
// source entity) pairs so that both can be patched.
//
// A count reads the log past the cache's frontier, then, when something
// changed or a leaf is not cached, reads in one statement the cached
// leaves for the changed ids only and the others whole. When the log cannot tell what changed (it was pruned past the
// frontier, or the database was replaced or truncated) or too much
// changed, every set is dropped and read again.
type SetCache struct {
	d  Dialect
	mu sync.Mutex
	// synced says frontier holds a position in the log: the seq of the
	// last change applied (SQLite), or the oldest transaction that may
	// still commit changes not yet applied (PostgreSQL).
	synced   bool
	frontier uint64
	// epoch counts the syncs that found changes; batches holds the ids of
	// the last ones, oldest first, with consecutive epochs.
	epoch   uint64
	batches []changeBatch
	sets    map[string]*cachedSet
	bytes   int
	pages   pageMemo
	// quiet says the last sync found nothing changed and this process
	// wrote no entity since (see Wrote): a hint, never trusted for an
	// answer, that the next page's log check will find the log quiet.
	quiet bool
}

// Wrote tells the cache that this process wrote entities: the next page
// with a total then expects changes in the log (see quietHint).
func (c *SetCache) Wrote() {
	c.mu.Lock()
	c.quiet = false
	c.mu.Unlock()
}

// quietHint reports whether the log is likely quiet past the cache's
// frontier: the last sync found no change, and no write of this process
// came after it.
func (c *SetCache) quietHint() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.quiet
}

type changeBatch struct {
	epoch uint64
	ids   []int64
}

// cachedSet is a leaf's ids as of the end of sync epoch; a relation leaf
// also keeps the (originating id, source id) pairs its ids come from.
type cachedSet struct {
	s     idSet
	pairs [][2]int64
	epoch uint64
}

// NewSetCache returns an empty cache for a store of dialect d.
func NewSetCache(d Dialect) *SetCache {
	return &SetCache{d: d, sets: map[string]*cachedSet{}}
}

// allEntities is the leaf key of the set of every entity (complements).
const allEntities = "\x00all"

// cacheLeaf is one leaf of a count: f is nil for allEntities.
type cacheLeaf struct {
	f    *catalog.Filter
	name string // the lowercased filter key
	key  string // the cache key (leafKey)
	rel  bool
	hit  *cachedSet // the cached set, patched rather than read whole
	// withLog says the patch also reads the ids that its statement took
	// from the log (log_ids, see oneRead).
	withLog bool
	// pending are the ids changed since hit was stored that earlier syncs
	// logged.
	pending []int64
	out     *cachedSet
}

// load returns the id set of every leaf of f, and of every entity when all
// is true, up to date with the log. ok is false when a set is too large
// for bitmaps; the caller then counts in SQL.
func (c *SetCache) load(ctx context.Context, r TextRunner, f *catalog.Filter, all bool) (map[*catalog.Filter]idSet, idSet, bool, error) {
	sets, universe, _, ok, err := c.loadAsOf(ctx, r, f, all)
	return sets, universe, ok, err
}

// setsAsOf says, on PostgreSQL, for which states of the catalog the sets
// of a load are exact: those whose log holds exactly seen rows at or past
// frontier, none of them pruned. The frontier is the oldest transaction
// running when the load read the log, so every write the sets miss was
// made by a transaction at or past it, whose log row a later statement
// sees (see SetCache.read).
type setsAsOf struct {
	known    bool // false on SQLite
	frontier uint64
	seen     int
}

// loadAsOf is load that also says which states of the catalog the sets
// are exact for.
func (c *SetCache) loadAsOf(ctx context.Context, r TextRunner, f *catalog.Filter, all bool) (map[*catalog.Filter]idSet, idSet, setsAsOf, bool, error) {
	var asOf setsAsOf
	leaves, seen, err := leavesOf(f, all)
	if err != nil {
		return nil, nil, asOf, false, err
	}
	// A read that finds the log unable to say what changed resets the
	// cache and asks for a read of every leaf; another count syncing
	// meanwhile could make that happen again.
	for attempt := 0; ; attempt++ {
		var ok, retry bool
		var err error
		asOf, ok, retry, err = c.read(ctx, r, leaves)
		if err != nil || !ok {
			return nil, nil, asOf, ok, err
		}
		if !retry {
			break
		}
		if attempt == 2 {
			return nil, nil, asOf, false, nil
		}
	}
	sets, universe := setsOf(f, seen, all, func(l *cacheLeaf) idSet { return l.out.s })
	return sets, universe, asOf, true, nil
}

// leavesOf returns the distinct leaves of f, and the leaf of every entity
// when all is true, and them by cache key.
func leavesOf(f *catalog.Filter, all bool) ([]*cacheLeaf, map[string]*cacheLeaf, error) {
	var leaves []*cacheLeaf
	seen := map[string]*cacheLeaf{}
	var walk func(f *catalog.Filter, depth int) error
	walk = func(f *catalog.Filter, depth int) error {
		if f == nil {
			return fault.New(fault.Invalid, "filter has an empty node")
		}
		if depth > MaxFilterDepth {
			return fault.New(fault.Invalid, "filter is nested deeper than %d levels", MaxFilterDepth)
		}
		if f.Op != catalog.OpMatch {
			for _, k := range f.Children {
				if err := walk(k, depth+1); err != nil {
					return err
				}
			}
			return nil
		}
		key, err := leafKey(f)
		if err != nil || seen[key] != nil || (f.Match == catalog.MatchIn && len(f.Values) == 0) {
			return err
		}
		name := strings.ToLower(strings.TrimSpace(f.Key))
		if name == RelationPrefix {
			return fault.New(fault.Invalid, "filter: key %q names no relation type", f.Key)
		}
		l := &cacheLeaf{f: f, name: name, key: key, rel: strings.HasPrefix(name, RelationPrefix)}
		seen[key] = l
		leaves = append(leaves, l)
		return nil
	}
	if err := walk(f, 0); err != nil {
		return nil, nil, err
	}
	if all {
		l := &cacheLeaf{key: allEntities}
		seen[allEntities] = l
		leaves = append(leaves, l)
	}
	return leaves, seen, nil
}

// setsOf returns the set of each leaf of f, and of every entity when all
// is true, as set picks them from the leaves by cache key.
func setsOf(f *catalog.Filter, seen map[string]*cacheLeaf, all bool, set func(*cacheLeaf) idSet) (map[*catalog.Filter]idSet, idSet) {
	sets := map[*catalog.Filter]idSet{}
	var walkSets func(f *catalog.Filter)
	walkSets = func(f *catalog.Filter) {
		if f.Op != catalog.OpMatch {
			for _, k := range f.Children {
				walkSets(k)
			}
			return
		}
		if key, err := leafKey(f); err == nil && seen[key] != nil {
			sets[f] = set(seen[key])
		}
	}
	walkSets(f)
	var universe idSet
	if all {
		universe = set(seen[allEntities])
	}
	return sets, universe
}

// read syncs with the log and reads the leaves, then stores what it read.
// retry is true when the log could not say what changed: the cache was
// reset and the leaves must be read again.
//
// The first read of a cache takes the log's position and reads every leaf
// in one statement (one snapshot). Later ones read the log past the
// position first; when nothing changed and every leaf is cached, that
// small statement is the whole count. Otherwise a second statement reads
// the cached leaves for the changed ids only (a probe per id) and the
// others whole. Entities written between the two statements are not among
// the changed ids: their changes lie past the new position, so the next
// sync reads them again.
//
// On PostgreSQL asOf is the new position and the number of log rows at or
// past it that the first statement saw: a write the sets may miss (one
// that statement did not see) adds a row at or past it. There, a synced
// cache reads the log and patches in one statement (oneRead).
func (c *SetCache) read(ctx context.Context, r TextRunner, leaves []*cacheLeaf) (asOf setsAsOf, ok, retry bool, err error) {
	synced, frontier, epoch := c.hits(leaves)
	if synced && c.d == Postgres {
		rd := &oneRead{c: c, leaves: leaves, frontier: frontier, epoch: epoch}
		q, args, generic, err := rd.statement()
		if err != nil {
			return asOf, false, false, err
		}
		var text string
		if generic {
			text, err = textGeneric(ctx, r, q, args)
		} else {
			text, err = r.Text(ctx, q, args)
		}
		if err != nil {
			return asOf, false, false, err
		}
		return rd.finish(text)
	}

	var next uint64
	var changed []int64
	if synced {
		var lost bool
		next, changed, asOf.seen, lost, err = c.sync(ctx, r, frontier)
		if err != nil {
			return asOf, false, false, err
		}
		if lost {
			c.resetIf(synced, frontier, epoch)
			return asOf, true, true, nil
		}
	}

	b := NewBuilder(c.d)
	var parts []string
	var reading []*cacheLeaf
	// A statement of patches only probes the changed ids; reading a leaf
	// whole depends on how many rows its values select.
	patchesOnly := synced
	if !synced {
		parts = append(parts, c.frontierSQL())
		if c.d == Postgres {
			parts = append(parts, seenSQL())
		}
	}
	for _, l := range leaves {
		if l.hit != nil {
			l.pending = append(l.pending, changed...)
			if len(l.pending) == 0 {
				l.out = &cachedSet{s: l.hit.s, pairs: l.hit.pairs}
				continue
			}
			if len(l.pending) > maxPending {
				l.hit, l.pending = nil, nil
			}
		}
		if l.hit == nil {
			patchesOnly = false
		}
		q, err := c.leafSQL(b, l)
		if err != nil {
			return asOf, false, false, err
		}
		parts = append(parts, "coalesce(("+q+"), '')")
		reading = append(reading, l)
	}
	if len(b.args) > MaxParams {
		return asOf, false, false, fault.New(fault.Invalid, "filter has too many values (over %d)", MaxParams)
	}
	if len(parts) > 0 {
		query := "SELECT " + strings.Join(parts, " || ';' || ")
		if !synced {
			query = c.withFrontier(query)
		}
		var text string
		if patchesOnly {
			text, err = textGeneric(ctx, r, query, b.Args())
		} else {
			text, err = r.Text(ctx, query, b.Args())
		}
		if err != nil {
			return asOf, false, false, err
		}
		fields := strings.Split(text, ";")
		if !synced {
			if next, err = strconv.ParseUint(fields[0], 10, 64); err != nil {
				return asOf, false, false, fault.Wrap(fault.Internal, err, "counting: reading the change log")
			}
			fields = fields[1:]
			if c.d == Postgres && len(fields) > 0 {
				if asOf.seen, err = strconv.Atoi(fields[0]); err != nil {
					return asOf, false, false, fault.Wrap(fault.Internal, err, "counting: reading the change log")
				}
				fields = fields[1:]
			}
		}
		if len(fields) != len(reading) {
			return asOf, false, false, fault.New(fault.Internal, "counting: unexpected answer with %d fields", len(fields))
		}
		for i, l := range reading {
			if ok, err := l.apply(fields[i]); err != nil || !ok {
				return asOf, ok, false, err
			}
		}
	}
	asOf.known, asOf.frontier = c.d == Postgres, next
	c.store(leaves, synced, frontier, epoch, next, changed)
	return asOf, true, false, nil
}

// store keeps the sets a read produced, when no other read moved the cache
// since the position it started from: these sets are up to date as of
// this read, which may be older than what another read applied.
func (c *SetCache) store(leaves []*cacheLeaf, synced bool, frontier, epoch, next uint64, changed []int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.synced != synced || c.frontier != frontier || c.epoch != epoch {
		return
	}
	c.synced, c.frontier = true, next
	c.quiet = len(changed) == 0
	if len(changed) > 0 {
		c.epoch++
		c.batches = append(c.batches, changeBatch{epoch: c.epoch, ids: changed})
		if len(c.batches) > maxBatches {
			c.batches = c.batches[len(c.batches)-maxBatches:]
		}
	}
	for _, l := range leaves {
		size := 8*len(l.out.s) + 16*len(l.out.pairs)
		if len(c.sets) >= maxCachedSets || c.bytes+size > maxCachedBytes {
			clear(c.sets)
			c.bytes = 0
		}
		if old := c.sets[l.key]; old != nil {
			c.bytes -= 8*len(old.s) + 16*len(old.pairs)
		}
		l.out.epoch = c.epoch
		c.sets[l.key] = l.out
		c.bytes += size
	}
}

// hits finds, under the lock, the cached set of each leaf that can be
// patched (l.hit) and the ids changed since it was stored that earlier
// syncs logged (l.pending), and returns the cache's position.
func (c *SetCache) hits(leaves []*cacheLeaf) (synced bool, frontier, epoch uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	synced, frontier, epoch = c.synced, c.frontier, c.epoch
	for _, l := range leaves {
		l.hit, l.pending, l.out, l.withLog = nil, nil, nil, false
		hit := c.sets[l.key]
		if !synced || hit == nil {
			continue
		}
		if hit.epoch != epoch && (len(c.batches) == 0 || hit.epoch+1 < c.batches[0].epoch) {
			continue // older than the batches kept
		}
		l.hit = hit
		for _, b := range c.batches {
			if b.epoch > hit.epoch {
				l.pending = append(l.pending, b.ids...)
			}
		}
	}
	return synced, frontier, epoch
}

// resetIf resets the cache unless another read moved it since the
// position a read started from.
func (c *SetCache) resetIf(synced bool, frontier, epoch uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.synced == synced && c.frontier == frontier && c.epoch == epoch {
		c.reset()
	}
}

// sync reads the log past frontier: the new position, the ids changed,
// and whether the log cannot say what changed; on PostgreSQL also the
// number of log rows at or past the new position (see setsAsOf).
func (c *SetCache) sync(ctx context.Context, r TextRunner, frontier uint64) (next uint64, changed []int64, seen int, lost bool, err error) {
	b := NewBuilder(c.d)
	parts := c.syncSQL(b, frontier)
	text, err := textGeneric(ctx, r, c.withFrontier("SELECT "+strings.Join(parts, " || ';' || ")), b.Args())
	if err != nil {
		return 0, nil, 0, false, err
	}
	return c.parseSync(frontier, len(parts), text)
}

// parseSync reads the answer of the statement of syncSQL's nparts parts.
func (c *SetCache) parseSync(frontier uint64, nparts int, text string) (next uint64, changed []int64, seen int, lost bool, err error) {
	fields := strings.Split(text, ";")
	if len(fields) != nparts {
		return 0, nil, 0, false, fault.New(fault.Internal, "counting: unexpected change log answer %q", text)
	}
	if next, err = strconv.ParseUint(fields[0], 10, 64); err != nil {
		return 0, nil, 0, false, fault.Wrap(fault.Internal, err, "counting: reading the change log")
	}
	if changed, err = parseIDList(fields[2]); err != nil {
		return 0, nil, 0, false, err
	}
	if len(fields) > 3 {
		if seen, err = strconv.Atoi(fields[3]); err != nil {
			return 0, nil, 0, false, fault.Wrap(fault.Internal, err, "counting: reading the change log")
		}
	}
	// A negative id (PostgreSQL: the entities were truncated) names no
	// entity: everything may have changed.
	lost = c.lost(frontier, next, fields[1], len(changed)) ||
		slices.ContainsFunc(changed, func(id int64) bool { return id < 0 })
	return next, changed, seen, lost, nil
}

// reset drops every set: the log cannot say what changed since.
func (c *SetCache) reset() {
	c.synced, c.quiet = false, false
	c.epoch++
	c.batches = nil
	clear(c.sets)
	c.bytes = 0
}

// pgFrontier is, on PostgreSQL, the oldest transaction running when the
// statement's snapshot was taken that may have written to this database:
// every transaction below it that wrote here had ended, so its log rows
// are visible. It is the snapshot's xmin except for the transactions
// known to run in another database (the backend running them is
// connected to another one: transaction ids are unique in the cluster,
// and a backend writes to its own database's tables only). A long
// transaction elsewhere on the server (a bulk load into another
// database) otherwise held the position back for as long as it ran, and
// with it every write since counted as changed: after each write pages
// probed or patched them all (a page 7.7 ms and its patch 6-13 ms instead
// of 0.3 ms on the shared test server, docs/benchmarks.md). A transaction
// no row of pg_stat_activity places elsewhere (a prepared one, one whose
// backend ended meanwhile, a row the role may not see) is kept. The view's
// function is called directly: the view joins pg_database and pg_authid,
// which made binding the sync statement 0.2 ms dearer.
const pgFrontier = "(SELECT coalesce(min(x), pg_snapshot_xmax(pg_current_snapshot()))" +
	" FROM pg_snapshot_xip(pg_current_snapshot()) x" +
	" WHERE x::text::numeric % 4294967296 NOT IN (SELECT a.backend_xid::text::numeric FROM pg_stat_get_activity(NULL) a" +
	" WHERE a.backend_xid IS NOT NULL AND a.datid <> (SELECT m.datid FROM pg_stat_get_activity(pg_backend_pid()) m)))"

// pgFrontierWith is the WITH item, named front, that computes pgFrontier
// once for a statement in which frontierSQL and seenSQL both read it: each
// copy of the expression was two scans of pg_stat_get_activity and three
// sub-plans set up when the statement is bound.
const pgFrontierWith = "front AS MATERIALIZED (SELECT " + pgFrontier + " AS x)"

// seenSQL counts, on PostgreSQL, the log rows at or past the position
// that frontierSQL reads in the same statement (see setsAsOf), from the
// statement's pgFrontierWith. The bound is a sub-query for the reason
// given at changesSince.
func seenSQL() string {
	return "(SELECT count(*) FROM entity_changes WHERE xid >= (SELECT x FROM front))::text"
}

// frontierSQL reads the log's current position; on PostgreSQL from the
// statement's pgFrontierWith.
func (c *SetCache) frontierSQL() string {
	if c.d == Postgres {
		return "(SELECT x FROM front)::text"
	}
	return "(SELECT coalesce(max(seq), 0) FROM entity_changes)"
}

// withFrontier prefixes query, a SELECT that reads frontierSQL, with the
// WITH item that it reads on PostgreSQL.
func (c *SetCache) withFrontier(query string) string {
	if c.d == Postgres {
		return "WITH " + pgFrontierWith + " " + query
	}
	return query
}

// syncSQL reads the new position, a check value and the ids changed past
// frontier. On SQLite the check is the number of changes (seqs are
// consecutive: one writer, AUTOINCREMENT); on PostgreSQL it is the
// largest xid pruned from the log. On PostgreSQL the new frontier is the
// oldest transaction running when this statement's snapshot was taken:
// every transaction below it had ended, so its changes are among those
// read, and the changes of later ones are read again next time (applying
// a change twice is harmless).
func (c *SetCache) syncSQL(b *Builder, frontier uint64) []string {
	if c.d == Postgres {
		since := changesSince(b, c.d, frontier)
		return []string{
			c.frontierSQL(),
			"(SELECT below::text FROM entity_changes_pruned)",
			"coalesce((SELECT string_agg(entity_id::text, ',') FROM entity_changes WHERE " + since + "), '')",
			seenSQL(),
		}
	}
	return []string{
		c.frontierSQL(),
		"(SELECT count(*) FROM entity_changes WHERE " + changesSince(b, c.d, frontier) + ")",
		"coalesce((SELECT group_concat(entity_id) FROM entity_changes WHERE " + changesSince(b, c.d, frontier) + "), '')",
	}
}

// lost reports whether the log cannot say what changed between frontier
// and next.
func (c *SetCache) lost(frontier, next uint64, check string, n int) bool {
	if n > maxPending {
		return true
	}
	v, err := strconv.ParseUint(check, 10, 64)
	if err != nil {
		return true
	}
	if c.d == Postgres {
		return v >= frontier // rows below the frontier may have been pruned unread
	}
	// Fewer rows than seqs: pruned; a lower seq: the database was replaced.
	return next < frontier || v != next-frontier
}

// changesSince returns the condition on entity_changes rows past
// frontier. On PostgreSQL the bound is a sub-query: its selectivity is
// then estimated alike with and without the value, so that the generic
// plan the statement runs under (see GenericRunner) does not look costlier
// than a custom one.
func changesSince(b *Builder, d Dialect, frontier uint64) string {
	if d == Postgres {
		return "xid >= (SELECT " + b.Arg(strconv.FormatUint(frontier, 10)) + "::text::xid8)"
	}
	return "seq > " + b.Arg(int64(frontier))
}

// leafSQL returns the sub-query that reads leaf l: whole, or, when it is
// cached, for the ids changed since it was stored (l.pending).
// A search leaf reads ids; a relation leaf reads "origin:source" pairs.
//
// A patch starts from the changed ids and probes the leaf's rows for each
// (few ids, one index probe each): PostgreSQL would otherwise hash the
// changed ids and scan the leaf's whole index range against them.
func (c *SetCache) leafSQL(b *Builder, l *cacheLeaf) (string, error) {
	if l.hit == nil {
		return c.wholeSQL(b, l)
	}
	switch {
	case l.f == nil:
		return "SELECT " + c.agg(c.idText("e.id")) + " FROM " + c.changedFrom(b, l, "e") +
			" WHERE (SELECT 1 FROM entities x WHERE x.id = e.id) IS NOT NULL", nil
	case !l.rel:
		// A scalar sub-query is a probe per changed id on both engines.
		from := c.changedFrom(b, l, "e")
		probe := "(SELECT 1 FROM search fs WHERE fs.entity_id = e.id AND fs.key = " + b.Arg(l.name)
		m, err := b.match(l.f, "fs.value")
		if err != nil {
			return "", err
		}
		return "SELECT " + c.agg(c.idText("e.id")) + " FROM " + from + " WHERE " + probe + m + " LIMIT 1) IS NOT NULL", nil
	}
	// The pairs whose origin changed, then those whose source changed,
	// each walking from the changed entity to its relation rows and on to
	// the entity at the other end.
	var sides []string
	for _, side := range [][2]string{{"o", "s"}, {"s", "o"}} {
		from, to := side[0], side[1]
		fromCol, toCol := "originating_ref", "source_ref"
		if from == "s" {
			fromCol, toCol = toCol, fromCol
		}
		changed := c.changedFrom(b, l, "c")
		var q string
		if c.d == Postgres {
			q = "SELECT " + c.pair() + " AS p FROM " + changed +
				" CROSS JOIN LATERAL (SELECT id, ref FROM entities WHERE id = c.id OFFSET 0) " + from +
				" CROSS JOIN LATERAL (SELECT r." + toCol + " AS ref FROM relations r WHERE r." + fromCol + " = " + from + ".ref AND "
			cond, err := c.relationCond(b, l)
			if err != nil {
				return "", err
			}
			q += cond + " OFFSET 0) r" +
				" CROSS JOIN LATERAL (SELECT id FROM entities WHERE ref = r.ref OFFSET 0) " + to
		} else {
			// SQLite keeps the order of CROSS JOINs.
			q = "SELECT " + c.pair() + " AS p FROM " + changed +
				" CROSS JOIN entities " + from + " ON " + from + ".id = c.id" +
				" CROSS JOIN relations r ON r." + fromCol + " = " + from + ".ref AND "
			cond, err := c.relationCond(b, l)
			if err != nil {
				return "", err
			}
			q += cond + " CROSS JOIN entities " + to + " ON " + to + ".ref = r." + toCol
		}
		sides = append(sides, q)
	}
	return "SELECT " + c.agg("p") + " FROM (" + strings.Join(sides, " UNION ") + ") pairs", nil
}

// wholeSQL returns the sub-query that reads leaf l whole.
func (c *SetCache) wholeSQL(b *Builder, l *cacheLeaf) (string, error) {
	switch {
	case l.f == nil:
		return "SELECT " + c.agg(c.idText("e.id")) + " FROM entities e", nil
	case !l.rel:
		_, rows, err := b.leafRows(l.f, l.name)
		if err != nil {
			return "", err
		}
		return "SELECT " + c.agg(c.idText("k")) + " FROM (" + rows + ") ids", nil
	}
	q := "SELECT " + c.agg(c.pair()) + " FROM relations r JOIN entities o ON o.ref = r.originating_ref JOIN entities s ON s.ref = r.source_ref WHERE "
	cond, err := c.relationCond(b, l)
	return q + cond, err
}

// relationCond returns the condition of relation leaf l on relation rows
// "r".
func (c *SetCache) relationCond(b *Builder, l *cacheLeaf) (string, error) {
	// Bound in the order of the text: SQLite's placeholders are positional.
	w := "r.type_lower = " + b.Arg(strings.TrimPrefix(l.name, RelationPrefix))
	m, err := b.match(l.f, "r.target_ref")
	return w + m, err
}

// changedFrom returns a FROM item, aliased alias, whose column id lists
// the ids the patch of l reads.
func (c *SetCache) changedFrom(b *Builder, l *cacheLeaf, alias string) string {
	if !l.withLog {
		return c.changedIDs(b, l.pending, alias)
	}
	if len(l.pending) == 0 {
		// The statement's log_dist (see oneRead.statement): one
		// DISTINCT for every patch that reads the log's ids alone,
		// instead of a sub-plan each, all set up at every bind.
		return "(SELECT id FROM log_dist) " + alias
	}
	return "(SELECT DISTINCT unnest((SELECT ids FROM log_ids) || " + b.Arg(append([]int64{}, l.pending...)) + "::bigint[]) AS id) " + alias
}

// changedIDs returns a FROM item, aliased alias, whose column id lists
// ids once each.
func (c *SetCache) changedIDs(b *Builder, ids []int64, alias string) string {
	if c.d == Postgres {
		return "(SELECT DISTINCT unnest(" + b.Arg(ids) + "::bigint[]) AS id) " + alias
	}
	text := make([]string, len(ids))
	for i, id := range ids {
		text[i] = strconv.FormatInt(id, 10)
	}
	return "(SELECT DISTINCT value AS id FROM json_each(" + b.Arg("["+strings.Join(text, ",")+"]") + ")) " + alias
}

func (c *SetCache) agg(expr string) string {
	if c.d == Postgres {
		return "string_agg(" + expr + ", ',')"
	}
	return "group_concat(" + expr + ")"
}

func (c *SetCache) idText(col string) string {
	if c.d == Postgres {
		return col + "::text"
	}
	return col
}

// pair is the "origin:source" text of relation rows joined to entities o
// and s.
func (c *SetCache) pair() string {
	return c.idText("o.id") + " || ':' || " + c.idText("s.id")
}

// apply sets l.out from the text read for l: the whole set, or the cached
// one with the changed ids (pending and changed) replaced by what was
// read for them.
func (l *cacheLeaf) apply(text string) (bool, error) {
	if !l.rel {
		now, fits, err := parseIDs(text)
		if err != nil || !fits {
			return fits, err
		}
		if l.hit == nil {
			l.out = &cachedSet{s: now}
			return true, nil
		}
		if !l.hit.s.differs(l.pending, now) {
			// A write that left the leaf as it was (the usual case: most
			// writes change few leaves) reuses the cached bitmap; sets
			// are never changed in place.
			l.out = &cachedSet{s: l.hit.s}
			return true, nil
		}
		s := make(idSet, max(len(l.hit.s), len(now)))
		copy(s, l.hit.s)
		for _, id := range l.pending {
			if w := int(id / 64); id >= 0 && w < len(s) {
				s[w] &^= 1 << (id % 64)
			}
		}
		for i, w := range now {
			s[i] |= w
		}
		l.out = &cachedSet{s: s}
		return true, nil
	}
	read, err := parsePairs(text)
	if err != nil {
		return false, err
	}
	var pairs [][2]int64
	if l.hit != nil {
		gone := map[int64]bool{}
		for _, id := range l.pending {
			gone[id] = true
		}
		var dropped [][2]int64
		pairs = make([][2]int64, 0, len(l.hit.pairs)+len(read))
		for _, p := range l.hit.pairs {
			if !gone[p[0]] && !gone[p[1]] {
				pairs = append(pairs, p)
			} else {
				dropped = append(dropped, p)
			}
		}
		if samePairs(dropped, read) {
			// The changed entities' pairs read back as they were.
			l.out = &cachedSet{s: l.hit.s, pairs: l.hit.pairs}
			return true, nil
		}
	}
	pairs = append(pairs, read...)
	var s idSet
	for _, p := range pairs {
		id := p[1]
		if id > maxSetID || id < 0 {
			return false, nil
		}
		w := int(id / 64)
		if w >= len(s) {
			grown := make(idSet, max(w+1, 2*len(s)))
			copy(grown, s)
			s = grown
		}
		s[w] |= 1 << (id % 64)
	}
	l.out = &cachedSet{s: s, pairs: pairs}
	return true, nil
}

// differs reports whether replacing the bits of the ids in pending by
// those set in now changes s.
func (s idSet) differs(pending []int64, now idSet) bool {
	for i, w := range now {
		if w != 0 && (i >= len(s) || w&^s[i] != 0) {
			return true // an id newly set
		}
	}
	for _, id := range pending {
		if id < 0 {
			continue
		}
		w := int(id / 64)
		if w < len(s) && s[w]&(1<<(id%64)) != 0 && (w >= len(now) || now[w]&(1<<(id%64)) == 0) {
			return true // a set id that now lacks
		}
	}
	return false
}

// samePairs reports whether a and b hold the same pairs, each once.
func samePairs(a, b [][2]int64) bool {
	if len(a) != len(b) {
		return false
	}
	seen := make(map[[2]int64]bool, len(a))
	for _, p := range a {
		if seen[p] {
			return false
		}
		seen[p] = true
	}
	for _, p := range b {
		if !seen[p] {
			return false
		}
		delete(seen, p)
	}
	return true
}

// leafKey identifies a leaf by what it matches.
func leafKey(f *catalog.Filter) (string, error) {
	key := strings.ToLower(strings.TrimSpace(f.Key))
	if key == "" {
		return "", fault.New(fault.Invalid, "filter: a condition has an empty key")
	}
	var sb strings.Builder
	sb.WriteString(key)
	sb.WriteByte(0)
	sb.WriteString(strconv.Itoa(int(f.Match)))
	for _, v := range lowerAll(f.Values) {
		sb.WriteByte(0)
		sb.WriteString(v)
	}
	return sb.String(), nil
}

// parseIDList reads comma-separated decimal ids.
func parseIDList(text string) ([]int64, error) {
	if text == "" {
		return nil, nil
	}
	parts := strings.Split(text, ",")
	out := make([]int64, len(parts))
	for i, p := range parts {
		v, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return nil, fault.Wrap(fault.Internal, err, "counting: reading the change log")
		}
		out[i] = v
	}
	return out, nil
}

// parsePairs reads comma-separated "origin:source" id pairs.
func parsePairs(text string) ([][2]int64, error) {
	if text == "" {
		return nil, nil
	}
	parts := strings.Split(text, ",")
	out := make([][2]int64, len(parts))
	for i, p := range parts {
		a, b, ok := strings.Cut(p, ":")
		o, err1 := strconv.ParseInt(a, 10, 64)
		s, err2 := strconv.ParseInt(b, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			return nil, fault.New(fault.Internal, "counting: unexpected %q in a relation pair list", p)
		}
		out[i] = [2]int64{o, s}
	}
	return out, nil
}

// Frontier returns the log position the cache last synced to and whether
// it has one.
func (c *SetCache) Frontier() (uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.frontier, c.synced
}
