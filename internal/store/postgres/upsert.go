package postgres

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
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

// EntityUpsert writes records in one transaction; see store.Driver. Rows
// are written in ref order so that concurrent writers lock in one order.
func (db *DB) EntityUpsert(ctx context.Context, p store.EntityUpsertParams) (store.EntityUpsertResult, error) {
	var res store.EntityUpsertResult
	recs := sqlplan.DedupeRecords(p.Records)
	if len(recs) == 0 {
		return res, nil
	}
	for i, r := range recs {
		if r.Ref == "" {
			return res, fault.New(fault.Invalid, "upsert: record %d has no ref", i)
		}
	}
	order := slices.Clone(recs)
	slices.SortFunc(order, func(a, b catalog.Record) int { return strings.Compare(a.Ref, b.Ref) })

	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if err := db.bulkSettings(ctx, tx); err != nil {
			return err
		}
		uids, err := db.freeUIDs(ctx, tx, order)
		if err != nil {
			return err
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

		res = store.EntityUpsertResult{}
		if len(refused) > 0 {
			existing := map[string]string{}
			rows, err := tx.Query(ctx, "SELECT ref, location_key FROM entities WHERE ref = ANY($1)", refused)
			if err != nil {
				return dbErr(ctx, err, "upsert: read conflicts")
			}
			var ref, key string
			if _, err := pgx.ForEachRow(rows, []any{&ref, &key}, func() error { existing[ref] = key; return nil }); err != nil {
				return dbErr(ctx, err, "upsert: read conflicts")
			}
			byRef := map[string]string{}
			for _, r := range order {
				byRef[r.Ref] = r.LocationKey
			}
			for _, r := range recs {
				if _, ok := done[r.Ref]; !ok {
					res.Conflicts = append(res.Conflicts, store.Conflict{Ref: r.Ref, ExistingLocationKey: existing[r.Ref], NewLocationKey: byRef[r.Ref]})
				}
			}
		}
		for _, r := range recs {
			if _, ok := done[r.Ref]; ok {
				res.Written = append(res.Written, r.Ref)
			}
		}
		return nil
	})
	if err != nil {
		return store.EntityUpsertResult{}, dbErr(ctx, err, "upsert")
	}
	return res, nil
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

// freeUIDs returns the UID to insert for each record: its own, unless
// empty, repeated in the batch, or held by another entity, in which case a
// fresh one. (For existing refs the value is ignored: they keep theirs.)
func (db *DB) freeUIDs(ctx context.Context, tx pgx.Tx, recs []catalog.Record) ([]string, error) {
	want := make([]string, 0, len(recs))
	for _, r := range recs {
		if r.UID != "" {
			want = append(want, r.UID)
		}
	}
	holder := map[string]string{}
	if len(want) > 0 {
		rows, err := tx.Query(ctx, "SELECT uid, ref FROM entities WHERE uid = ANY($1)", want)
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
