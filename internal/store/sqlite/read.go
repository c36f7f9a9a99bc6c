package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/store/sqlplan"
)

// EntityStates returns the change-detection state of those refs that exist.
func (db *DB) EntityStates(ctx context.Context, refs []string) (map[string]store.EntityState, error) {
	out := make(map[string]store.EntityState, len(refs))
	for _, c := range sqlplan.Chunks(len(refs), chunk) {
		part := refs[c[0]:c[1]]
		rows, err := db.read.QueryContext(ctx,
			"SELECT ref, uid, hash, location_key, errors IS NOT NULL FROM entities WHERE ref IN "+marks(len(part)), anys(part)...)
		if err != nil {
			return nil, dbErr(ctx, err, "read entity states")
		}
		for rows.Next() {
			var ref string
			var s store.EntityState
			if err := rows.Scan(&ref, &s.UID, &s.Hash, &s.LocationKey, &s.HasErrors); err != nil {
				rows.Close()
				return nil, dbErr(ctx, err, "read entity states")
			}
			out[ref] = s
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, dbErr(ctx, err, "read entity states")
		}
	}
	return out, nil
}

// EntityGetByRef returns one entity; fault.NotFound when absent.
func (db *DB) EntityGetByRef(ctx context.Context, ref string) (*catalog.Stored, error) {
	return db.getOne(ctx, getOneByRef, strings.ToLower(ref), "No entity with ref %s", ref)
}

// EntityGetByUID returns one entity; fault.NotFound when absent.
func (db *DB) EntityGetByUID(ctx context.Context, uid string) (*catalog.Stored, error) {
	return db.getOne(ctx, getOneByUID, uid, "No entity with uid %s", uid)
}

// getOneRelations aggregates an entity's relations into one text column of
// the lookup, (type US target) records separated by RS: a single statement
// instead of two, a fifth of a lookup's time. The records come in the key's
// order, one per originating entity; getOne sorts them and drops
// duplicates, as fillRelations does, because a DISTINCT … ORDER BY here
// built two temporary B-trees per lookup, most of its time in SQLite.
// Types and refs never hold those control characters.
const getOneRelations = "(SELECT group_concat(type || char(31) || target_ref, char(30))" +
	" FROM relations WHERE source_ref = e.ref)"

// The lookups' columns are expressions with one-letter names: for every
// column of a result the driver copies its name and its declared type into
// Go strings (modernc's newRows), 16 of a lookup's allocations with the
// table's column names; a one-byte name needs no allocation and an
// expression (the unary plus, which SQLite compiles to nothing) has no
// declared type. The key column is not read back: by ref, the stored ref is
// the key (the column compares bytes), by uid, the uid. Order: the other
// key, body, hash, errors, created_at, updated_at, relations.
const (
	getOneByRef = "SELECT +e.uid AS k, +e.body AS b, +e.hash AS h, +e.errors AS e, +e.created_at AS c, +e.updated_at AS u, " +
		getOneRelations + " AS r FROM entities e WHERE e.ref = ?"
	getOneByUID = "SELECT +e.ref AS k, +e.body AS b, +e.hash AS h, +e.errors AS e, +e.created_at AS c, +e.updated_at AS u, " +
		getOneRelations + " AS r FROM entities e WHERE e.uid = ?"
)

func (db *DB) getOne(ctx context.Context, query string, key string, notFound string, arg string) (*catalog.Stored, error) {
	if err := ctx.Err(); err != nil {
		return nil, dbErr(ctx, err, "read entity")
	}
	// The lookup runs without the caller's cancellation: a cancellable
	// context costs database/sql and the driver a goroutine each to watch
	// it (Rows.awaitDone, interruptOnDone), 6 of a lookup's 20 µs of CPU,
	// while the lookup itself is two index seeks that cannot run long.
	// Neither database/sql nor the driver reads the context's values, so
	// the background context serves without context.WithoutCancel's
	// allocation.
	rows, err := db.query(context.Background(), query, key)
	if err != nil {
		return nil, dbErr(ctx, err, "read entity")
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, dbErr(ctx, err, "read entity")
		}
		return nil, fault.New(fault.NotFound, notFound, arg)
	}
	// The scan's destinations escape (Scan takes them as any): in one
	// struct with the answer they are one allocation instead of eight.
	v := new(lookupRow)
	s := &v.s
	if err := rows.Scan(&v.other, &v.body, &s.Hash, &v.errs, &v.created, &v.updated, &v.rels); err != nil {
		return nil, dbErr(ctx, err, "read entity")
	}
	if query == getOneByRef {
		s.Ref, s.UID = key, v.other
	} else {
		s.Ref, s.UID = v.other, key
	}
	// The driver copies a blob into a new slice of its own for every row
	// (modernc's columnBlob) and never writes to it again, so the body is
	// kept as scanned rather than copied once more; TestEntityGetByRefBody
	// checks that it outlives the rows.
	s.Body = v.body
	if s.Errors, err = decodeErrors(v.errs); err != nil {
		return nil, err
	}
	s.CreatedAt = time.UnixMicro(v.created).UTC()
	s.UpdatedAt = time.UnixMicro(v.updated).UTC()
	if v.rels.Valid && v.rels.String != "" {
		if s.Relations, err = splitRelations(v.rels.String); err != nil {
			return nil, fault.Wrap(fault.Internal, err, "relations of %s are unreadable", s.Ref)
		}
	}
	return s, rows.Err()
}

// lookupRow holds a lookup's answer and the columns scanned to build it.
type lookupRow struct {
	s                catalog.Stored
	other            string
	body             sql.RawBytes
	errs, rels       sql.NullString
	created, updated int64
}

// splitRelations parses getOneRelations' column into relations sorted by
// type then target, without duplicates. The relations share the column's
// string.
func splitRelations(col string) ([]catalog.Relation, error) {
	out := make([]catalog.Relation, 0, strings.Count(col, "\x1e")+1)
	for rec := range strings.SplitSeq(col, "\x1e") {
		typ, target, ok := strings.Cut(rec, "\x1f")
		if !ok || typ == "" || target == "" {
			return nil, fmt.Errorf("record %q is not a type and a target", rec)
		}
		out = append(out, catalog.Relation{Type: typ, TargetRef: target})
	}
	return store.SortRelations(out), nil
}

// EntityGetByRefs returns the entities in refs order, nil where absent or
// filtered out.
func (db *DB) EntityGetByRefs(ctx context.Context, refs []string, filter *catalog.Filter) ([]*catalog.Stored, error) {
	if err := ctx.Err(); err != nil {
		return nil, dbErr(ctx, err, "read entities")
	}
	if filter == nil {
		// Without the caller's cancellation, as getOne: the reads are
		// index lookups of at most a chunk of refs each. (A filter may
		// make the planner scan instead.)
		ctx = context.WithoutCancel(ctx)
	}
	found := make(map[string]*catalog.Stored, len(refs))
	lower := make([]string, len(refs))
	for i, r := range refs {
		lower[i] = strings.ToLower(r)
	}
	for _, c := range sqlplan.Chunks(len(lower), chunk) {
		b := sqlplan.NewBuilder(sqlplan.SQLite)
		in := b.In("e.ref", lower[c[0]:c[1]])
		where, err := b.Filter(filter)
		if err != nil {
			return nil, err
		}
		items, err := runner{db: db, once: true}.Entities(ctx, "SELECT "+sqlplan.EntityColumns+", NULL FROM entities e WHERE "+in+" AND "+where, b.Args())
		if err != nil {
			return nil, err
		}
		if err := db.fillRelations(ctx, items); err != nil {
			return nil, err
		}
		for _, it := range items {
			found[it.Ref] = it
		}
	}
	out := make([]*catalog.Stored, len(refs))
	for i, r := range lower {
		out[i] = found[r]
	}
	return out, nil
}

// EntityList returns one page of entities; see store.Driver.
func (db *DB) EntityList(ctx context.Context, p store.EntityListParams) (store.EntityListResult, error) {
	res, err := sqlplan.List(ctx, sqlplan.SQLite, runner{db: db}, p)
	if err != nil {
		return res, err
	}
	items := res.Items
	if p.KeysOnly {
		// Rows read keys only (runner.KeyColumns: no body) need no
		// relations either: the caller has their final JSON.
		items = slices.DeleteFunc(slices.Clone(items), func(it *catalog.Stored) bool { return it.Body == nil })
	}
	if err := db.fillRelations(ctx, items); err != nil {
		return res, err
	}
	return res, nil
}

var _ sqlplan.KeysRunner = runner{}

// keyColumns are sqlplan.EntityColumns for a page read keys only: no body,
// hash or status. A page of a team's components at 100k entities then
// needs no relations statement (the third of a miss's CPU that it took,
// most of it in page reads of the relations index) and no stitching of
// the bodies: the engine takes each entity's final JSON from its cache.
const keyColumns = "e.id, e.uid, e.ref, NULL, '', NULL, e.created_at, e.updated_at"

// KeyColumns returns keyColumns; see sqlplan.KeysRunner.
func (runner) KeyColumns() string { return keyColumns }

// runner implements sqlplan.Runner on the read pool.
type runner struct {
	db *DB
	// once marks queries whose text varies with the number of values
	// (by-refs chunks): they are not worth a slot of the statement cache.
	once bool
}

// Entities runs an entity query; see sqlplan.Runner.
func (r runner) Entities(ctx context.Context, query string, args []any) ([]*catalog.Stored, error) {
	// Statements are cached by their text, which depends on the shape of
	// the filter, not its values: the few shapes lists repeat skip parsing
	// (a sixth of a by-query page's time), and the cache stops growing at
	// its bound.
	var rows *sql.Rows
	var err error
	if r.once {
		rows, err = r.db.read.QueryContext(ctx, query, args...)
	} else {
		rows, err = r.db.query(ctx, query, args...)
	}
	if err != nil {
		return nil, dbErr(ctx, err, "query entities")
	}
	defer rows.Close()
	var out []*catalog.Stored
	for rows.Next() {
		var (
			id               int64
			s                catalog.Stored
			errs, sortValue  sql.NullString
			created, updated int64
		)
		if err := rows.Scan(&id, &s.UID, &s.Ref, &s.Body, &s.Hash, &errs, &created, &updated, &sortValue); err != nil {
			return nil, dbErr(ctx, err, "read entities")
		}
		if s.Errors, err = decodeErrors(errs); err != nil {
			return nil, err
		}
		s.CreatedAt = time.UnixMicro(created).UTC()
		s.UpdatedAt = time.UnixMicro(updated).UTC()
		if sortValue.Valid {
			v := sortValue.String
			s.SortValue = &v
		}
		out = append(out, &s)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(ctx, err, "read entities")
	}
	return out, nil
}

// Count runs a counting query; see sqlplan.Runner.
func (r runner) Count(ctx context.Context, query string, args []any) (int, error) {
	rows, err := r.db.query(ctx, query, args...)
	if err != nil {
		return 0, dbErr(ctx, err, "count entities")
	}
	defer rows.Close()
	var n int
	if rows.Next() {
		if err := rows.Scan(&n); err != nil {
			return 0, dbErr(ctx, err, "count entities")
		}
	}
	if err := rows.Err(); err != nil {
		return 0, dbErr(ctx, err, "count entities")
	}
	return n, nil
}

// cachedRelationShapes is the largest number of refs whose relations query
// keeps a prepared statement (pages of up to 100 entities and single
// lookups are the common cases).
const cachedRelationShapes = 101

// fillRelations sets the outgoing relations of items, sorted by type then
// target, without duplicates. The rows come in the key's order, unsorted
// and with one row per originating entity: sorting and removing duplicates
// here, a few relations per entity, costs a third less than a DISTINCT …
// ORDER BY in SQLite, which builds a temporary B-tree per page.
func (db *DB) fillRelations(ctx context.Context, items []*catalog.Stored) error {
	if len(items) == 0 {
		return nil
	}
	byRef := make(map[string]*catalog.Stored, len(items))
	refs := make([]string, 0, len(items))
	for _, it := range items {
		if _, ok := byRef[it.Ref]; !ok {
			refs = append(refs, it.Ref)
		}
		byRef[it.Ref] = it
	}
	for _, c := range sqlplan.Chunks(len(refs), chunk) {
		part := refs[c[0]:c[1]]
		q := "SELECT source_ref, type, target_ref FROM relations WHERE source_ref IN " + marks(len(part))
		var rows *sql.Rows
		var err error
		if len(part) <= cachedRelationShapes {
			rows, err = db.query(ctx, q, anys(part)...)
		} else {
			rows, err = db.read.QueryContext(ctx, q, anys(part)...)
		}
		if err != nil {
			return dbErr(ctx, err, "read relations")
		}
		for rows.Next() {
			var src string
			var r catalog.Relation
			if err := rows.Scan(&src, &r.Type, &r.TargetRef); err != nil {
				rows.Close()
				return dbErr(ctx, err, "read relations")
			}
			if it := byRef[src]; it != nil {
				it.Relations = append(it.Relations, r)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return dbErr(ctx, err, "read relations")
		}
	}
	for _, it := range byRef {
		it.Relations = store.SortRelations(it.Relations)
	}
	return nil
}

// EntityFacets counts entities per distinct value of each facet key.
func (db *DB) EntityFacets(ctx context.Context, p store.EntityFacetsParams) (map[string][]store.FacetCount, error) {
	out := make(map[string][]store.FacetCount, len(p.Facets))
	queries, err := sqlplan.FacetQueries(ctx, sqlplan.SQLite, runner{db: db}, p.Facets, p.Filter)
	if err != nil {
		return nil, err
	}
	for i, facet := range p.Facets {
		rows, err := db.read.QueryContext(ctx, queries[i].SQL, queries[i].Args...)
		if err != nil {
			return nil, dbErr(ctx, err, "count facets")
		}
		counts := []store.FacetCount{}
		for rows.Next() {
			var fc store.FacetCount
			if err := rows.Scan(&fc.Value, &fc.Count); err != nil {
				rows.Close()
				return nil, dbErr(ctx, err, "count facets")
			}
			counts = append(counts, fc)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, dbErr(ctx, err, "count facets")
		}
		out[facet] = counts
	}
	return out, nil
}

// EntitySearch runs a full-text query with FTS5, best match first.
func (db *DB) EntitySearch(ctx context.Context, p store.EntitySearchParams) ([]store.SearchHit, error) {
	words := sqlplan.Words(p.Query)
	if len(words) == 0 {
		return []store.SearchHit{}, nil
	}
	var match strings.Builder
	for i, w := range words {
		if i > 0 {
			match.WriteByte(' ')
		}
		match.WriteString(`"` + w + `"`)
	}
	match.WriteByte('*')
	b := sqlplan.NewBuilder(sqlplan.SQLite)
	m := b.Arg(match.String())
	where, err := b.Filter(p.Filter)
	if err != nil {
		return nil, err
	}
	q := "SELECT e.ref, -entities_fts.rank FROM entities_fts JOIN entities e ON e.id = entities_fts.rowid WHERE entities_fts MATCH " + m +
		" AND " + where + " ORDER BY entities_fts.rank, e.ref" + b.LimitOffset(p.Limit, 0)
	rows, err := db.read.QueryContext(ctx, q, b.Args()...)
	if err != nil {
		return nil, dbErr(ctx, err, "full-text search")
	}
	defer rows.Close()
	hits := []store.SearchHit{}
	for rows.Next() {
		var h store.SearchHit
		if err := rows.Scan(&h.Ref, &h.Rank); err != nil {
			return nil, dbErr(ctx, err, "full-text search")
		}
		hits = append(hits, h)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(ctx, err, "full-text search")
	}
	return hits, nil
}

// EntityCount returns the number of entities per lowercased kind.
func (db *DB) EntityCount(ctx context.Context) (map[string]int, error) {
	rows, err := db.read.QueryContext(ctx, "SELECT lower(kind), count(*) FROM entities GROUP BY lower(kind)")
	if err != nil {
		return nil, dbErr(ctx, err, "count entities")
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return nil, dbErr(ctx, err, "count entities")
		}
		out[k] = n
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(ctx, err, "count entities")
	}
	return out, nil
}

// EntityRefsAll returns up to limit refs after the given one, in ref order.
func (db *DB) EntityRefsAll(ctx context.Context, after string, limit int) ([]string, error) {
	b := sqlplan.NewBuilder(sqlplan.SQLite)
	q := "SELECT ref FROM entities WHERE ref > " + b.Arg(after) + " ORDER BY ref" + b.LimitOffset(limit, 0)
	return db.strings(ctx, db.read, q, b.Args()...)
}

// EntityDelete removes entities with their search, relation, full-text and
// edge rows. Missing refs are ignored.
func (db *DB) EntityDelete(ctx context.Context, refs []string) error {
	if len(refs) == 0 {
		return nil
	}
	lower := make([]string, len(refs))
	for i, r := range refs {
		lower[i] = strings.ToLower(r)
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return dbErr(ctx, err, "begin delete")
	}
	defer tx.Rollback()
	old, err := existingByRef(ctx, tx, lower)
	if err != nil {
		return err
	}
	var ids, keys []any
	for _, r := range lower {
		keys = append(keys, r)
		if ex, ok := old[r]; ok {
			ids = append(ids, ex.id)
		}
	}
	steps := []struct {
		head string
		keys []any
	}{
		{"DELETE FROM search WHERE entity_id IN ", ids},
		{"DELETE FROM entities_fts WHERE rowid IN ", ids},
		{"DELETE FROM relations WHERE originating_ref IN ", keys},
		{"DELETE FROM edges WHERE parent IN ", keys},
		{"DELETE FROM edges WHERE child IN ", keys},
		{"DELETE FROM entities WHERE id IN ", ids},
	}
	for _, s := range steps {
		if err := deleteIn(ctx, tx, s.head, s.keys); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return dbErr(ctx, err, "commit delete")
	}
	return nil
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// strings runs a query returning one text column.
func (db *DB) strings(ctx context.Context, q queryer, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, dbErr(ctx, err, "query")
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, dbErr(ctx, err, "query")
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(ctx, err, "query")
	}
	return out, nil
}
