package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/store/sqlplan"
)

// chunk is how many keys one IN list or multi-row INSERT carries.
const chunk = 500

// existing is what a write needs to know about a stored entity.
type existing struct {
	id          int64
	uid         string
	locationKey string
}

// EntityUpsert writes records in one transaction; see store.Driver.
//
// New entities get ids above the current maximum: the write transaction is
// IMMEDIATE, so no other connection or process writes meanwhile. That lets
// every table be written with multi-row INSERTs.
func (db *DB) EntityUpsert(ctx context.Context, p store.EntityUpsertParams) (store.EntityUpsertResult, error) {
	var res store.EntityUpsertResult
	recs := sqlplan.DedupeRecords(p.Records)
	if len(recs) == 0 {
		return res, nil
	}
	refs := make([]string, len(recs))
	for i, r := range recs {
		if r.Ref == "" {
			return res, fault.New(fault.Invalid, "upsert: record %d has no ref", i)
		}
		refs[i] = r.Ref
	}
	// The relation rows depend on nothing the transaction reads: they are
	// built and sorted on another goroutine meanwhile. The writer's path
	// bounds a bulk load, and processing leaves the other core half idle.
	sorted := make(chan []relationRow, 1)
	go func() { sorted <- sortedRelationRows(recs) }()
	// The transaction runs on a connection held for the whole call, so
	// that the rows can be inserted through the driver itself (flushConn).
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return res, dbErr(ctx, err, "begin upsert")
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return res, dbErr(ctx, err, "begin upsert")
	}
	defer tx.Rollback()

	old, err := existingByRef(ctx, tx, refs)
	if err != nil {
		return res, err
	}
	var maxID int64
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM entities").Scan(&maxID); err != nil {
		return res, dbErr(ctx, err, "upsert: read max id")
	}
	var newUIDs []string
	for _, r := range recs {
		if _, ok := old[r.Ref]; !ok && r.UID != "" {
			newUIDs = append(newUIDs, r.UID)
		}
	}
	taken, err := uidsTaken(ctx, tx, newUIDs)
	if err != nil {
		return res, err
	}

	now := time.Now().UnixMicro()
	// New entities and rewritten ones take separate statements. New rows
	// need no conflict clause (their ids are above the maximum), and with
	// OR FAIL no statement can abort halfway, so SQLite keeps no statement
	// journal for them: at 100k entities that journal copied every page of
	// the uid, ref and name indexes each statement touched. A failure still
	// rolls back the whole transaction.
	ents := bulk{head: "INSERT OR FAIL INTO entities (id, uid, ref, kind, namespace, name, body, hash, location_key, errors, created_at, updated_at) VALUES ", cols: 12}
	updated := bulk{head: "INSERT INTO entities (id, uid, ref, kind, namespace, name, body, hash, location_key, errors, created_at, updated_at) VALUES ",
		tail: " ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, namespace = excluded.namespace, name = excluded.name," +
			" body = excluded.body, hash = excluded.hash, location_key = excluded.location_key, errors = excluded.errors," +
			" updated_at = excluded.updated_at", cols: 12}
	// Most search rows store no original (it is the value): those bind
	// NULL, which the driver binds without copying a string into C memory.
	search := bulk{head: "INSERT OR FAIL INTO search (entity_id, key, value, original, is_min) VALUES ", cols: 5, row: "(?,?,?,ifnull(?,''),?)"}
	rels := bulk{head: "INSERT OR FAIL INTO relations (originating_ref, source_ref, type, type_lower, target_ref) VALUES ", cols: 5}
	fts := bulk{head: "INSERT OR FAIL INTO entities_fts (rowid, doc) VALUES ", cols: 2}
	// Size the value lists once: growing them by appending copied each
	// several times (a quarter of all the bytes a bulk load allocated).
	nSearch := 0
	for i := range recs {
		nSearch += len(recs[i].Search)
	}
	bufs := getUpsertArgs()
	defer putUpsertArgs(bufs, &ents, &search, &rels, &fts)
	ents.args = slices.Grow(bufs.ents, len(recs)*ents.cols)
	search.args = slices.Grow(bufs.search, nSearch*search.cols)
	fts.args = slices.Grow(bufs.fts, len(recs)*fts.cols)
	// Each value is boxed into an interface once per call or row, not
	// once per use: an entity's id goes into its entity row, each of its
	// ~20 search rows and its text row.
	nowv := any(now)
	var oldIDs []any
	var oldRefs []any
	for i := range recs {
		r := &recs[i]
		var id int64
		uid := r.UID
		lk := r.LocationKey
		rows := &ents
		if ex, ok := old[r.Ref]; ok {
			rows = &updated
			if ex.locationKey != "" && r.LocationKey != "" && ex.locationKey != r.LocationKey {
				res.Conflicts = append(res.Conflicts, store.Conflict{Ref: r.Ref, ExistingLocationKey: ex.locationKey, NewLocationKey: r.LocationKey})
				continue
			}
			id, uid = ex.id, ex.uid
			if lk == "" {
				lk = ex.locationKey
			}
			oldIDs = append(oldIDs, id)
			oldRefs = append(oldRefs, r.Ref)
		} else {
			maxID++
			id = maxID
			if uid == "" || taken[uid] {
				uid = store.NewUID()
			}
			taken[uid] = true
		}
		errs, err := encodeErrors(r.Errors)
		if err != nil {
			return res, err
		}
		body := r.Body
		if body == nil {
			body = []byte{}
		}
		idv := any(id)
		rows.add(idv, uid, r.Ref, r.Kind, r.Namespace, r.Name, body, r.Hash, lk, errs, nowv, nowv)
		for _, s := range sqlplan.SearchRows(r.Search) {
			var original any
			if s.Original != "" {
				original = s.Original
			}
			search.add(idv, s.Key, s.Value, original, s.IsMin)
		}
		fts.add(idv, sqlplan.Text(r.Text))
		res.Written = append(res.Written, r.Ref)
	}

	if err := deleteIn(ctx, tx, "DELETE FROM search WHERE entity_id IN ", oldIDs); err != nil {
		return res, err
	}
	if err := deleteIn(ctx, tx, "DELETE FROM relations WHERE originating_ref IN ", oldRefs); err != nil {
		return res, err
	}
	if err := deleteIn(ctx, tx, "DELETE FROM entities_fts WHERE rowid IN ", oldIDs); err != nil {
		return res, err
	}
	relRows := <-sorted
	if len(res.Conflicts) > 0 {
		refused := make(map[string]bool, len(res.Conflicts))
		for _, c := range res.Conflicts {
			refused[c.Ref] = true
		}
		relRows = slices.DeleteFunc(relRows, func(r relationRow) bool { return refused[r.origin] })
	}
	rels.args = slices.Grow(bufs.rels, len(relRows)*rels.cols)
	for _, rel := range relRows {
		rels.add(rel.origin, rel.Source, rel.Type, rel.TypeLower, rel.Target)
	}
	if err := flushConn(ctx, conn, &updated, &ents, &search, &rels, &fts); err != nil {
		return res, err
	}
	if err := tx.Commit(); err != nil {
		return res, dbErr(ctx, err, "commit upsert")
	}
	return res, nil
}

func encodeErrors(items []catalog.StatusItem) (any, error) {
	if len(items) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(items)
	if err != nil {
		return nil, fault.Wrap(fault.Internal, err, "upsert: encode status items")
	}
	return string(b), nil
}

func decodeErrors(s sql.NullString) ([]catalog.StatusItem, error) {
	if !s.Valid || s.String == "" {
		return nil, nil
	}
	var items []catalog.StatusItem
	if err := json.Unmarshal([]byte(s.String), &items); err != nil {
		return nil, fault.Wrap(fault.Internal, err, "decode stored status items")
	}
	return items, nil
}

// existingByRef returns the stored entities among refs.
func existingByRef(ctx context.Context, tx *sql.Tx, refs []string) (map[string]existing, error) {
	out := make(map[string]existing, len(refs))
	for _, c := range sqlplan.Chunks(len(refs), chunk) {
		part := refs[c[0]:c[1]]
		rows, err := tx.QueryContext(ctx, "SELECT id, ref, uid, location_key FROM entities WHERE ref IN "+marks(len(part)), anys(part)...)
		if err != nil {
			return nil, dbErr(ctx, err, "upsert: read existing entities")
		}
		for rows.Next() {
			var ex existing
			var ref string
			if err := rows.Scan(&ex.id, &ref, &ex.uid, &ex.locationKey); err != nil {
				rows.Close()
				return nil, dbErr(ctx, err, "upsert: read existing entities")
			}
			out[ref] = ex
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, dbErr(ctx, err, "upsert: read existing entities")
		}
	}
	return out, nil
}

// uidsTaken returns which of uids some stored entity already has.
func uidsTaken(ctx context.Context, tx *sql.Tx, uids []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, c := range sqlplan.Chunks(len(uids), chunk) {
		part := uids[c[0]:c[1]]
		rows, err := tx.QueryContext(ctx, "SELECT uid FROM entities WHERE uid IN "+marks(len(part)), anys(part)...)
		if err != nil {
			return nil, dbErr(ctx, err, "upsert: check uids")
		}
		for rows.Next() {
			var u string
			if err := rows.Scan(&u); err != nil {
				rows.Close()
				return nil, dbErr(ctx, err, "upsert: check uids")
			}
			out[u] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, dbErr(ctx, err, "upsert: check uids")
		}
	}
	return out, nil
}

// deleteIn runs "DELETE … IN (…)" over keys in chunks; pre are bound
// before the keys.
func deleteIn(ctx context.Context, tx *sql.Tx, head string, keys []any, pre ...any) error {
	for _, c := range sqlplan.Chunks(len(keys), chunk) {
		part := append(append([]any{}, pre...), keys[c[0]:c[1]]...)
		if _, err := tx.ExecContext(ctx, head+marks(c[1]-c[0]), part...); err != nil {
			return dbErr(ctx, err, "delete old rows")
		}
	}
	return nil
}

// bulk collects the rows of one multi-row INSERT and writes them in
// statements of up to chunk rows, reusing one prepared statement for the
// full-size ones.
type bulk struct {
	head string // "INSERT INTO t (…) VALUES "
	tail string // optional conflict clause
	row  string // one row's values; "(?,?,…)" with cols marks when empty
	cols int
	args []any
}

func (b *bulk) add(vals ...any) { b.args = append(b.args, vals...) }

// upsertArgs are the value lists of one EntityUpsert, kept between calls:
// a batch of 1,000 entities binds ~150,000 values, whose lists were a
// sixteenth of all the bytes a bulk load allocated.
type upsertArgs struct {
	ents, search, rels, fts []any
}

var upsertArgsPool = sync.Pool{New: func() any { return new(upsertArgs) }}

func getUpsertArgs() *upsertArgs { return upsertArgsPool.Get().(*upsertArgs) }

// putUpsertArgs keeps the bulks' value lists for the next call, emptied so
// that they hold no records' strings meanwhile.
func putUpsertArgs(a *upsertArgs, ents, search, rels, fts *bulk) {
	for _, p := range []struct {
		dst *[]any
		b   *bulk
	}{{&a.ents, ents}, {&a.search, search}, {&a.rels, rels}, {&a.fts, fts}} {
		if p.b.args != nil {
			clear(p.b.args)
			*p.dst = p.b.args[:0]
		}
	}
	upsertArgsPool.Put(a)
}

// relationRow is a relation row with the entity it originates from.
type relationRow struct {
	origin string
	sqlplan.RelationRow
}

// sortedRelationRows returns the relation rows of recs, which hold each ref
// once, in the order of the relations table's key. The relations table is
// keyed by (source_ref, type_lower, target_ref, originating_ref, type); an
// entity's inverse rows land anywhere in it.
func sortedRelationRows(recs []catalog.Record) []relationRow {
	n := 0
	for i := range recs {
		n += len(recs[i].Relations)
	}
	rows := make([]relationRow, 0, n)
	for i := range recs {
		for _, rel := range sqlplan.RelationRows(recs[i].Relations) {
			rows = append(rows, relationRow{origin: recs[i].Ref, RelationRow: rel})
		}
	}
	slices.SortFunc(rows, compareRelationRows)
	return rows
}

// compareRelationRows orders relation rows by the relations table's key
// (source_ref, type_lower, target_ref, originating_ref, type). Rows of one
// transaction are inserted in that order: each page of the table is visited
// once per statement, on a path the page cache still holds, instead of at
// random.
func compareRelationRows(a, b relationRow) int {
	return cmp.Or(strings.Compare(a.Source, b.Source), strings.Compare(a.TypeLower, b.TypeLower),
		strings.Compare(a.Target, b.Target), strings.Compare(a.origin, b.origin), strings.Compare(a.Type, b.Type))
}

func (b *bulk) flush(ctx context.Context, tx *sql.Tx) error {
	n := len(b.args) / b.cols
	if n == 0 {
		return nil
	}
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	for _, c := range sqlplan.Chunks(n, chunk) {
		args := b.args[c[0]*b.cols : c[1]*b.cols]
		rows := c[1] - c[0]
		if rows < chunk {
			if _, err := tx.ExecContext(ctx, b.statement(rows), args...); err != nil {
				return dbErr(ctx, err, "insert rows")
			}
			continue
		}
		if full == nil {
			var err error
			if full, err = tx.PrepareContext(ctx, b.statement(chunk)); err != nil {
				return dbErr(ctx, err, "prepare insert")
			}
		}
		if _, err := full.ExecContext(ctx, args...); err != nil {
			return dbErr(ctx, err, "insert rows")
		}
	}
	return nil
}

// flushConn writes the rows of each bulk, in order, through the driver
// connection under c, on which the caller's transaction is open and idle.
// database/sql would copy every value into a new []driver.NamedValue per
// statement (a sixth of the bytes a bulk load allocated); here one buffer
// serves every statement, and each full-size statement is prepared once.
func flushConn(ctx context.Context, c *sql.Conn, bs ...*bulk) error {
	return c.Raw(func(dc any) error {
		prep, ok := dc.(driver.ConnPrepareContext)
		if !ok {
			return fault.New(fault.Internal, "sqlite: the driver connection cannot prepare statements")
		}
		var nv []driver.NamedValue
		for _, b := range bs {
			if err := b.flushDriver(ctx, prep, &nv); err != nil {
				return err
			}
		}
		return nil
	})
}

// flushDriver writes b's rows with statements of up to chunk rows,
// binding through nv, which it grows as needed.
func (b *bulk) flushDriver(ctx context.Context, prep driver.ConnPrepareContext, nv *[]driver.NamedValue) error {
	n := len(b.args) / b.cols
	if n == 0 {
		return nil
	}
	var full driver.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	for _, c := range sqlplan.Chunks(n, chunk) {
		args := b.args[c[0]*b.cols : c[1]*b.cols]
		if cap(*nv) < len(args) {
			*nv = make([]driver.NamedValue, len(args), max(len(args), chunk*b.cols))
		}
		vals := (*nv)[:len(args)]
		for i, v := range args {
			// Ordinals from 1 in order let the driver find each value by
			// its position.
			vals[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
		}
		rows := c[1] - c[0]
		st := full
		if rows < chunk || full == nil {
			s, err := prep.PrepareContext(ctx, b.statement(rows))
			if err != nil {
				return dbErr(ctx, err, "prepare insert")
			}
			st = s
			if rows == chunk {
				full = s
			}
		}
		ex, ok := st.(driver.StmtExecContext)
		if !ok {
			if st != full {
				st.Close()
			}
			return fault.New(fault.Internal, "sqlite: the driver statement cannot execute with a context")
		}
		_, err := ex.ExecContext(ctx, vals)
		if st != full {
			st.Close()
		}
		clear(vals) // let the values go
		if err != nil {
			return dbErr(ctx, err, "insert rows")
		}
	}
	return nil
}

func (b *bulk) statement(rows int) string {
	one := b.row
	if one == "" {
		one = marks(b.cols)
	}
	var sb strings.Builder
	sb.Grow(len(b.head) + rows*(len(one)+1) + len(b.tail))
	sb.WriteString(b.head)
	for i := range rows {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(one)
	}
	sb.WriteString(b.tail)
	return sb.String()
}

// marks returns "(?,?,…)" with n placeholders.
func marks(n int) string {
	return "(" + strings.TrimSuffix(strings.Repeat("?,", n), ",") + ")"
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
