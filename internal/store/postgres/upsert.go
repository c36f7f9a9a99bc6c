package postgres

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/store/sqlplan"
)

// upsertEntities inserts new entities and updates existing ones in one
// statement. The conflict rule is in the WHERE of the update, so it holds
// even when replicas write the same ref at once: a refused row is simply
// not returned.
const upsertEntities = `
INSERT INTO entities (uid, ref, kind, namespace, name, body, hash, location_key, errors, created_at, updated_at)
SELECT u.uid, u.ref, u.kind, u.namespace, u.name, u.body, u.hash, u.location_key, u.errors, $10, $10
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bytea[], $7::text[], $8::text[], $9::text[])
  AS u (uid, ref, kind, namespace, name, body, hash, location_key, errors)
ON CONFLICT (ref) DO UPDATE SET
  kind = EXCLUDED.kind, namespace = EXCLUDED.namespace, name = EXCLUDED.name, body = EXCLUDED.body,
  hash = EXCLUDED.hash, errors = EXCLUDED.errors, updated_at = EXCLUDED.updated_at,
  location_key = CASE WHEN EXCLUDED.location_key = '' THEN entities.location_key ELSE EXCLUDED.location_key END
WHERE entities.location_key = '' OR EXCLUDED.location_key = '' OR entities.location_key = EXCLUDED.location_key
RETURNING id, ref, (xmax = 0) AS inserted`

const upsertText = `
INSERT INTO entity_text (entity_id, doc)
SELECT t.id, to_tsvector('simple', t.doc) FROM unnest($1::bigint[], $2::text[]) AS t (id, doc)
ON CONFLICT (entity_id) DO UPDATE SET doc = EXCLUDED.doc`

// bulkParts is how many transactions, each on its own connection, share
// one upsert of a bulk load; a batch smaller than bulkParts*bulkPartMin is
// not split. The writes of a bulk load are the PostgreSQL side of a
// pipeline whose other side (reading and processing the next batch) runs
// meanwhile, and one backend writing a batch of 1000 was the slower side:
// two backends use the second core.
const (
	bulkParts   = 2
	bulkPartMin = 200
)

// EntityUpsert writes records in one transaction; see store.Driver. Rows
// are written in ref order so that concurrent writers lock in one order.
//
// During this process's bulk load (see BulkBegin) a large batch is written
// as bulkParts transactions at once, on consecutive ranges of the sorted
// refs: each entity's rows (entity, search rows, relations, full text)
// still commit together, and an error may leave one range written and the
// other not, as a crash between two batches of the load would (the engine
// writes the same records again at its next pass).
func (db *DB) EntityUpsert(ctx context.Context, p store.EntityUpsertParams) (store.EntityUpsertResult, error) {
	var res store.EntityUpsertResult
	recs := sqlplan.DedupeRecords(p.Records)
	if len(recs) == 0 {
		return res, nil
	}
	defer db.sets.Wrote() // the next counted page expects changes (sqlplan.SetCache.Wrote)
	for i, r := range recs {
		if r.Ref == "" {
			return res, fault.New(fault.Invalid, "upsert: record %d has no ref", i)
		}
	}
	order := slices.Clone(recs)
	slices.SortFunc(order, func(a, b catalog.Record) int { return strings.Compare(a.Ref, b.Ref) })

	parts := []upsertPart{{recs: order}}
	if db.bulk.Load() && len(order) >= bulkParts*bulkPartMin {
		// The UIDs are chosen for the whole batch at once, so that two
		// parts never pick the same one.
		uids, err := db.freeUIDs(ctx, db.pool, order)
		if err != nil {
			return res, err
		}
		parts = parts[:0]
		for i := range bulkParts {
			lo, hi := i*len(order)/bulkParts, (i+1)*len(order)/bulkParts
			parts = append(parts, upsertPart{recs: order[lo:hi], uids: uids[lo:hi]})
		}
	}
	if len(parts) == 1 {
		parts[0].err = db.upsertPart(ctx, &parts[0])
	} else {
		var wg sync.WaitGroup
		for i := range parts {
			wg.Go(func() { parts[i].err = db.upsertPart(ctx, &parts[i]) })
		}
		wg.Wait()
	}
	done := make(map[string]bool, len(order))
	existing := map[string]string{}
	for _, pt := range parts {
		if pt.err != nil {
			return store.EntityUpsertResult{}, dbErr(ctx, pt.err, "upsert")
		}
		for _, ref := range pt.written {
			done[ref] = true
		}
		maps.Copy(existing, pt.existing)
	}
	byRef := map[string]string{}
	if len(existing) > 0 {
		for _, r := range order {
			byRef[r.Ref] = r.LocationKey
		}
	}
	for _, r := range recs {
		if done[r.Ref] {
			res.Written = append(res.Written, r.Ref)
		} else {
			res.Conflicts = append(res.Conflicts, store.Conflict{Ref: r.Ref, ExistingLocationKey: existing[r.Ref], NewLocationKey: byRef[r.Ref]})
		}
	}
	return res, nil
}

// upsertPart is one transaction's share of an upsert: records sorted by
// ref, the UIDs chosen for them (nil: chosen in the transaction), and what
// the transaction did.
type upsertPart struct {
	recs []catalog.Record
	uids []string
	// written are the refs written; existing has the location key of each
	// ref refused (another location owns it).
	written  []string
	existing map[string]string
	err      error
}

// upsertPart writes pt.recs in one transaction.
func (db *DB) upsertPart(ctx context.Context, pt *upsertPart) error {
	order := pt.recs
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		pt.written, pt.existing = nil, nil
		if err := db.bulkSettings(ctx, tx); err != nil {
			return err
		}
		uids := pt.uids
		if uids == nil {
			var err error
			if uids, err = db.freeUIDs(ctx, tx, order); err != nil {
				return err
			}
		}
		n := len(order)
		var (
			refs, kinds, nss, names, hashes, keys = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
			bodies                                = make([][]byte, n)
			errs                                  = make([]*string, n)
		)
		for i, r := range order {
			refs[i], kinds[i], nss[i], names[i], hashes[i], keys[i] = r.Ref, r.Kind, r.Namespace, r.Name, r.Hash, r.LocationKey
			bodies[i] = r.Body
			if bodies[i] == nil {
				bodies[i] = []byte{}
			}
			if len(r.Errors) > 0 {
				b, err := json.Marshal(r.Errors)
				if err != nil {
					return fault.Wrap(fault.Internal, err, "upsert: encode status items")
				}
				s := string(b)
				errs[i] = &s
			}
		}
		rows, err := tx.Query(ctx, upsertEntities, uids, refs, kinds, nss, names, bodies, hashes, keys, errs, time.Now())
		if err != nil {
			return dbErr(ctx, err, "upsert entities")
		}
		type written struct {
			id       int64
			inserted bool
		}
		done := make(map[string]written, n)
		var w written
		var ref string
		_, err = pgx.ForEachRow(rows, []any{&w.id, &ref, &w.inserted}, func() error {
			done[ref] = w
			return nil
		})
		if err != nil {
			return dbErr(ctx, err, "upsert entities")
		}

		var updatedIDs, textIDs []int64
		var updatedRefs, texts, refused []string
		var search, rels [][]any
		for _, r := range order {
			w, ok := done[r.Ref]
			if !ok {
				refused = append(refused, r.Ref)
				continue
			}
			pt.written = append(pt.written, r.Ref)
			if !w.inserted {
				updatedIDs = append(updatedIDs, w.id)
				updatedRefs = append(updatedRefs, r.Ref)
			}
			textIDs = append(textIDs, w.id)
			texts = append(texts, sqlplan.Text(r.Text))
			for _, s := range sqlplan.SearchRows(r.Search) {
				search = append(search, []any{w.id, s.Key, s.Value, s.Original, s.IsMin})
			}
			for _, rel := range sqlplan.RelationRows(r.Relations) {
				rels = append(rels, []any{r.Ref, rel.Source, rel.Type, rel.TypeLower, rel.Target})
			}
		}
		if len(updatedIDs) > 0 {
			if _, err := tx.Exec(ctx, "DELETE FROM search WHERE entity_id = ANY($1)", updatedIDs); err != nil {
				return dbErr(ctx, err, "upsert: delete old search rows")
			}
			if _, err := tx.Exec(ctx, "DELETE FROM relations WHERE originating_ref = ANY($1)", updatedRefs); err != nil {
				return dbErr(ctx, err, "upsert: delete old relations")
			}
		}
		if len(textIDs) > 0 {
			if _, err := tx.Exec(ctx, upsertText, textIDs, texts); err != nil {
				return dbErr(ctx, err, "upsert: full-text documents")
			}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"search"}, []string{"entity_id", "key", "value", "original", "is_min"}, pgx.CopyFromRows(search)); err != nil {
			return dbErr(ctx, err, "upsert: copy search rows")
		}
		// Relation rows go in in the order of the index they are written
		// with (source, type, target), so that a transaction's rows visit
		// each of its pages once and in order.
		slices.SortFunc(rels, compareRelationRows)
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"relations"}, []string{"originating_ref", "source_ref", "type", "type_lower", "target_ref"}, pgx.CopyFromRows(rels)); err != nil {
			return dbErr(ctx, err, "upsert: copy relations")
		}

		if len(refused) > 0 {
			pt.existing = map[string]string{}
			rows, err := tx.Query(ctx, "SELECT ref, location_key FROM entities WHERE ref = ANY($1)", refused)
			if err != nil {
				return dbErr(ctx, err, "upsert: read conflicts")
			}
			var ref, key string
			if _, err := pgx.ForEachRow(rows, []any{&ref, &key}, func() error { pt.existing[ref] = key; return nil }); err != nil {
				return dbErr(ctx, err, "upsert: read conflicts")
			}
		}
		return nil
	})
}

// compareRelationRows orders relation rows ([originating, source, type,
// type_lower, target]) by the relations_source index's key, then by
// originating entity.
func compareRelationRows(a, b []any) int {
	for _, i := range [...]int{1, 3, 4, 0} {
		if c := strings.Compare(a[i].(string), b[i].(string)); c != 0 {
			return c
		}
	}
	return 0
}

// querier runs a query: a transaction or the pool.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// freeUIDs returns the UID to insert for each record: its own, unless
// empty, repeated in the batch, or held by another entity, in which case a
// fresh one. (For existing refs the value is ignored: they keep theirs.)
func (db *DB) freeUIDs(ctx context.Context, q querier, recs []catalog.Record) ([]string, error) {
	want := make([]string, 0, len(recs))
	for _, r := range recs {
		if r.UID != "" {
			want = append(want, r.UID)
		}
	}
	holder := map[string]string{}
	if len(want) > 0 {
		rows, err := q.Query(ctx, "SELECT uid, ref FROM entities WHERE uid = ANY($1)", want)
		if err != nil {
			return nil, dbErr(ctx, err, "upsert: check uids")
		}
		var uid, ref string
		if _, err := pgx.ForEachRow(rows, []any{&uid, &ref}, func() error { holder[uid] = ref; return nil }); err != nil {
			return nil, dbErr(ctx, err, "upsert: check uids")
		}
	}
	seen := map[string]bool{}
	out := make([]string, len(recs))
	for i, r := range recs {
		uid := r.UID
		if h, ok := holder[uid]; uid == "" || seen[uid] || (ok && h != r.Ref) {
			uid = store.NewUID()
		}
		seen[uid] = true
		out[i] = uid
	}
	return out, nil
}
