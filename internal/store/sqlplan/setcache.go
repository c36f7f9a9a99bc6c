package sqlplan

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/atrium-portal/atrium/internal/fault"
)

// CachingRunner is a TextRunner whose store keeps the id sets of filter
// leaves between counts.
type CachingRunner interface {
	TextRunner
	SetCache() *SetCache
}

// maxPending bounds the entity changes a sync applies to the cached sets;
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

// SetCache keeps the entity ids that filter leaves over search rows
// select, so that a total counted after a write reads only what the write
// changed instead of every leaf's whole index range.
//
// The database logs the id of every entity row written (the
// entity_changes table, filled by triggers on entities; search rows change
// only with their entity's row). Before a count the cache reads the log
// past its frontier (sync); each cached set then reads its leaf again for
// the changed ids only. When the log cannot tell what changed (it was
// pruned past the frontier, or the database was replaced) or too much
// changed, every set is dropped and read again. Relation leaves are not
// cached: relation rows of an entity change when other entities are
// written, which the log does not name.
//
// Like a page and its total, a count reads the sets and the log through
// separate statements: a write landing meanwhile can skew that one total
// by what it changed, and the next sync applies it.
type SetCache struct {
	d  Dialect
	mu sync.Mutex
	// synced says frontier holds a position in the log: the seq of the
	// last change applied (SQLite), or the oldest transaction id that may
	// still commit rows not yet applied (PostgreSQL).
	synced   bool
	frontier uint64
	// epoch counts the syncs that found changes; batches holds the ids of
	// the last ones, oldest first, with consecutive epochs.
	epoch   uint64
	batches []changeBatch
	sets    map[string]cachedSet
	bytes   int
}

type changeBatch struct {
	epoch uint64
	ids   []int64
}

// cachedSet is a leaf's ids as of the end of sync epoch.
type cachedSet struct {
	s     idSet
	epoch uint64
}

// NewSetCache returns an empty cache for a store of dialect d.
func NewSetCache(d Dialect) *SetCache {
	return &SetCache{d: d, sets: map[string]cachedSet{}}
}

// sync applies the entity changes logged since the last sync and returns
// the current epoch.
func (c *SetCache) sync(ctx context.Context, r TextRunner) (uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ids []int64
	var next uint64
	var lost bool
	var err error
	if c.d == Postgres {
		next, ids, lost, err = c.changesPostgres(ctx, r)
	} else {
		next, ids, lost, err = c.changesSQLite(ctx, r)
	}
	if err != nil {
		return 0, err
	}
	// A negative id (PostgreSQL: the entities were truncated) names no
	// entity: everything may have changed.
	lost = lost || slices.ContainsFunc(ids, func(id int64) bool { return id < 0 })
	switch {
	case !c.synced:
		c.synced = true
	case lost || len(ids) > maxPending:
		c.reset()
	case len(ids) > 0:
		c.epoch++
		c.batches = append(c.batches, changeBatch{epoch: c.epoch, ids: ids})
		if len(c.batches) > maxBatches {
			c.batches = c.batches[len(c.batches)-maxBatches:]
		}
	}
	c.frontier = next
	return c.epoch, nil
}

// reset drops every set: the log cannot say what changed since.
func (c *SetCache) reset() {
	c.epoch++
	c.batches = nil
	clear(c.sets)
	c.bytes = 0
}

// changesSQLite reads the log past the frontier. Seqs are consecutive
// (one writer, AUTOINCREMENT), so fewer rows than the seqs span means the
// log was pruned, and a lower last seq that the database was replaced.
func (c *SetCache) changesSQLite(ctx context.Context, r TextRunner) (next uint64, ids []int64, lost bool, err error) {
	last, err := r.Count(ctx, "SELECT coalesce(max(seq), 0) FROM entity_changes", nil)
	if err != nil {
		return 0, nil, false, err
	}
	next = uint64(last)
	switch {
	case !c.synced || next == c.frontier:
		return next, nil, false, nil
	case next < c.frontier || next-c.frontier > maxPending:
		return next, nil, true, nil
	}
	text, err := r.Text(ctx, "SELECT count(*) || ';' || coalesce(group_concat(entity_id), '') FROM entity_changes WHERE seq > ? AND seq <= ?",
		[]any{int64(c.frontier), int64(next)})
	if err != nil {
		return 0, nil, false, err
	}
	n, list, _ := strings.Cut(text, ";")
	if n != strconv.FormatUint(next-c.frontier, 10) {
		return next, nil, true, nil
	}
	ids, err = parseIDList(list)
	return next, ids, false, err
}

// changesPostgres reads the log from the frontier. The new frontier is the
// oldest transaction running before the rows are read: every transaction
// below it had ended, so its rows are among those read, and rows of later
// transactions are read again next time (applying a change twice is
// harmless).
func (c *SetCache) changesPostgres(ctx context.Context, r TextRunner) (next uint64, ids []int64, lost bool, err error) {
	xmin, err := r.Text(ctx, "SELECT pg_snapshot_xmin(pg_current_snapshot())::text", nil)
	if err != nil {
		return 0, nil, false, err
	}
	if next, err = strconv.ParseUint(xmin, 10, 64); err != nil {
		return 0, nil, false, fault.Wrap(fault.Internal, err, "counting: reading the transaction horizon")
	}
	if !c.synced {
		return next, nil, false, nil
	}
	text, err := r.Text(ctx, "SELECT (SELECT below::text FROM entity_changes_pruned) || ';' || count(*) || ';' || coalesce(string_agg(entity_id::text, ','), '')"+
		" FROM (SELECT entity_id FROM entity_changes WHERE xid >= $1::text::xid8 LIMIT "+itoa(maxPending+1)+") c",
		[]any{strconv.FormatUint(c.frontier, 10)})
	if err != nil {
		return 0, nil, false, err
	}
	parts := strings.SplitN(text, ";", 3)
	if len(parts) != 3 {
		return 0, nil, false, fault.New(fault.Internal, "counting: unexpected change log answer %q", text)
	}
	below, err := strconv.ParseUint(parts[0], 10, 64)
	if err != nil {
		return 0, nil, false, fault.Wrap(fault.Internal, err, "counting: reading the change log")
	}
	if below >= c.frontier || parts[1] == itoa(maxPending+1) {
		return next, nil, true, nil
	}
	ids, err = parseIDList(parts[2])
	return next, ids, false, err
}

// set returns the ids of a search leaf (rows selects them as column k
// with args) as of sync epoch: from the cache, patched with the ids
// changed since it was read, or read whole.
func (c *SetCache) set(ctx context.Context, r TextRunner, epoch uint64, rows string, args []any) (idSet, bool, error) {
	var key strings.Builder
	key.WriteString(rows)
	for _, a := range args {
		key.WriteByte(0)
		switch v := a.(type) {
		case string:
			key.WriteString(v)
		case []string:
			key.WriteString(strings.Join(v, "\x01"))
		default:
			return nil, false, fault.New(fault.Internal, "counting: unexpected argument %T", a)
		}
	}
	k := key.String()
	c.mu.Lock()
	hit, ok := c.sets[k]
	var changed []int64
	switch {
	case ok && hit.epoch == epoch:
		c.mu.Unlock()
		return hit.s, true, nil
	case ok && len(c.batches) > 0 && hit.epoch+1 >= c.batches[0].epoch:
		for _, b := range c.batches {
			if b.epoch > hit.epoch && b.epoch <= epoch {
				changed = append(changed, b.ids...)
			}
		}
	default:
		ok = false
	}
	c.mu.Unlock()

	var s idSet
	var fits bool
	var err error
	if ok && len(changed) <= maxPending {
		s, fits, err = c.patch(ctx, r, hit.s, changed, rows, args)
	} else {
		s, fits, err = readSet(ctx, c.d, r, "("+rows+") ids", args)
	}
	if err != nil || !fits {
		return nil, fits, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.sets) >= maxCachedSets || c.bytes+8*len(s) > maxCachedBytes {
		clear(c.sets)
		c.bytes = 0
	}
	if old, ok := c.sets[k]; !ok || old.epoch <= epoch {
		c.bytes += 8 * (len(s) - len(old.s))
		c.sets[k] = cachedSet{s: s, epoch: epoch}
	}
	return s, true, nil
}

// patch returns a copy of s with the changed ids set as the leaf selects
// them now.
func (c *SetCache) patch(ctx context.Context, r TextRunner, s idSet, changed []int64, rows string, args []any) (idSet, bool, error) {
	out := make(idSet, len(s))
	copy(out, s)
	for _, id := range changed {
		if w := int(id / 64); id >= 0 && w < len(out) {
			out[w] &^= 1 << (id % 64)
		}
	}
	for start := 0; start < len(changed); start += chunkIDs {
		part := changed[start:min(start+chunkIDs, len(changed))]
		b := &Builder{d: c.d, args: append([]any(nil), args...)}
		var in string
		if c.d == Postgres {
			in = "k = ANY(" + b.Arg(part) + "::bigint[])"
		} else {
			marks := make([]string, len(part))
			for i, id := range part {
				marks[i] = b.Arg(id)
			}
			in = "k IN (" + strings.Join(marks, ",") + ")"
		}
		now, fits, err := readSet(ctx, c.d, r, "("+rows+") ids WHERE "+in, b.Args())
		if err != nil || !fits {
			return nil, fits, err
		}
		out = out.or(now)
	}
	return out, true, nil
}

// chunkIDs is how many changed ids one patch query binds.
const chunkIDs = 500

// readSet reads the ids of column k of from (a FROM clause and an
// optional WHERE) as one aggregated text value; fits is false when an id
// is above maxSetID.
func readSet(ctx context.Context, d Dialect, r TextRunner, from string, args []any) (s idSet, fits bool, err error) {
	agg := "group_concat(k)"
	if d == Postgres {
		agg = "string_agg(k::text, ',')"
	}
	text, err := r.Text(ctx, "SELECT "+agg+" FROM "+from, args)
	if err != nil {
		return nil, false, err
	}
	return parseIDs(text)
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
