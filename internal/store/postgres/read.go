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

// chunk is how many refs one by-refs query carries.
const chunk = 500

// EntityStates returns the change-detection state of those refs that exist.
func (db *DB) EntityStates(ctx context.Context, refs []string) (map[string]store.EntityState, error) {
	out := make(map[string]store.EntityState, len(refs))
	if len(refs) == 0 {
		return out, nil
	}
	rows, err := db.pool.Query(ctx, "SELECT ref, uid, hash, location_key, errors IS NOT NULL FROM entities WHERE ref = ANY($1)", refs)
	if err != nil {
		return nil, dbErr(ctx, err, "read entity states")
	}
	var ref string
	var s store.EntityState
	if _, err := pgx.ForEachRow(rows, []any{&ref, &s.UID, &s.Hash, &s.LocationKey, &s.HasErrors}, func() error {
		out[ref] = s
		return nil
	}); err != nil {
		return nil, dbErr(ctx, err, "read entity states")
	}
	return out, nil
}

// EntityGetByRefs returns the entities in refs order, nil where absent or
// filtered out.
func (db *DB) EntityGetByRefs(ctx context.Context, refs []string, filter *catalog.Filter) ([]*catalog.Stored, error) {
	found := make(map[string]*catalog.Stored, len(refs))
	lower := make([]string, len(refs))
	for i, r := range refs {
		lower[i] = strings.ToLower(r)
	}
	for _, c := range sqlplan.Chunks(len(lower), chunk) {
		b := sqlplan.NewBuilder(sqlplan.Postgres)
		in := b.In("e.ref", lower[c[0]:c[1]])
		where, err := b.Filter(filter)
		if err != nil {
			return nil, err
		}
		items, err := runner{db}.Entities(ctx, "SELECT "+sqlplan.EntityColumns+", CAST(NULL AS TEXT) FROM entities e WHERE "+in+" AND "+where, b.Args())
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
	res, err := sqlplan.List(ctx, sqlplan.Postgres, runner{db}, p)
	if err != nil {
		return res, err
	}
	// The list's queries select the relations (runner.RelationsColumn);
	// only rows of another query need them read, and no row read keys
	// only (runner.KeyColumns: its body is nil).
	unread := relationsUnread(res.Items)
	if p.KeysOnly {
		unread = slices.DeleteFunc(unread, func(it *catalog.Stored) bool { return it.Body == nil })
	}
	if err := db.fillRelations(ctx, unread); err != nil {
		return res, err
	}
	return res, nil
}

// runner implements sqlplan.Runner on the pool.
type runner struct{ db *DB }

// Entities runs an entity query; see sqlplan.Runner.
func (r runner) Entities(ctx context.Context, query string, args []any) ([]*catalog.Stored, error) {
	rows, err := r.db.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, dbErr(ctx, err, "query entities")
	}
	return scanEntities(ctx, rows)
}

// EntitiesGeneric runs an entity query under a generic plan; see
// sqlplan.GenericEntitiesRunner.
func (r runner) EntitiesGeneric(ctx context.Context, query string, args []any) ([]*catalog.Stored, error) {
	var out []*catalog.Stored
	err := r.db.queryGeneric(ctx, query, args, func(rows pgx.Rows) error {
		var err error
		out, err = scanEntities(ctx, rows)
		return err
	})
	if err != nil {
		return nil, dbErr(ctx, err, "query entities")
	}
	return out, nil
}

// scanEntities reads the rows of an entity query; see sqlplan.Runner.
func scanEntities(ctx context.Context, rows pgx.Rows) ([]*catalog.Stored, error) {
	defer rows.Close()
	var out []*catalog.Stored
	var (
		id        int64
		s         catalog.Stored
		errs      *string
		sortValue *string
		rels      *string
		created   time.Time
		updated   time.Time
	)
	dest := []any{&id, &s.UID, &s.Ref, &s.Body, &s.Hash, &errs, &created, &updated, &sortValue}
	withRels := false
	for rows.Next() {
		if out == nil && len(rows.FieldDescriptions()) > len(dest) {
			// A list query's relations column (runner.RelationsColumn).
			dest, withRels = append(dest, &rels), true
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, dbErr(ctx, err, "read entities")
		}
		it := s
		it.Body = append([]byte(nil), s.Body...)
		it.CreatedAt, it.UpdatedAt = created.UTC(), updated.UTC()
		it.SortValue = sortValue
		if errs != nil && *errs != "" {
			if err := json.Unmarshal([]byte(*errs), &it.Errors); err != nil {
				return nil, fault.Wrap(fault.Internal, err, "decode stored status items of %s", it.Ref)
			}
		}
		if withRels {
			var err error
			if it.Relations, err = listRelations(it.Ref, rels); err != nil {
				return nil, err
			}
		}
		out = append(out, &it)
		sortValue, errs, rels = nil, nil, nil
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(ctx, err, "read entities")
	}
	return out, nil
}

// Count runs a counting query; see sqlplan.Runner.
func (r runner) Count(ctx context.Context, query string, args []any) (int, error) {
	var n int
	if err := r.db.pool.QueryRow(ctx, query, args...).Scan(&n); err != nil {
		return 0, dbErr(ctx, err, "count entities")
	}
	return n, nil
}

// fillRelations sets the outgoing relations of items, sorted by type then
// target, without duplicates.
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
	// The plan (the relations of a few refs through relations_source) is
	// the same whatever the refs: a generic plan spares planning it for
	// every page.
	var src string
	var r catalog.Relation
	err := db.queryGeneric(ctx, "SELECT DISTINCT source_ref, type, target_ref FROM relations WHERE source_ref = ANY($1)"+
		" ORDER BY source_ref, type, target_ref", []any{refs}, func(rows pgx.Rows) error {
		_, err := pgx.ForEachRow(rows, []any{&src, &r.Type, &r.TargetRef}, func() error {
			if it := byRef[src]; it != nil {
				it.Relations = append(it.Relations, r)
			}
			return nil
		})
		return err
	})
	if err != nil {
		return dbErr(ctx, err, "read relations")
	}
	return nil
}

// EntityFacets counts entities per distinct value of each facet key.
func (db *DB) EntityFacets(ctx context.Context, p store.EntityFacetsParams) (map[string][]store.FacetCount, error) {
	out := make(map[string][]store.FacetCount, len(p.Facets))
	// FacetQueries counts within nothing but kinds from the indexes (see
	// sqlplan.kindFacetQuery): the general query reads every entity row
	// of the key's search rows for its kind.
	queries, err := sqlplan.FacetQueries(ctx, sqlplan.Postgres, runner{db}, p.Facets, p.Filter)
	if err != nil {
		return nil, err
	}
	for i, facet := range p.Facets {
		rows, err := db.pool.Query(ctx, queries[i].SQL, queries[i].Args...)
		if err != nil {
			return nil, dbErr(ctx, err, "count facets")
		}
		counts := []store.FacetCount{}
		var fc store.FacetCount
		if _, err := pgx.ForEachRow(rows, []any{&fc.Value, &fc.Count}, func() error {
			counts = append(counts, fc)
			return nil
		}); err != nil {
			return nil, dbErr(ctx, err, "count facets")
		}
		out[facet] = counts
	}
	return out, nil
}

// EntitySearch runs a full-text query over the tsvector documents, best
// match first.
func (db *DB) EntitySearch(ctx context.Context, p store.EntitySearchParams) ([]store.SearchHit, error) {
	words := sqlplan.Words(p.Query)
	if len(words) == 0 {
		return []store.SearchHit{}, nil
	}
	// Words hold only letters and digits, so they need no quoting.
	query := strings.Join(words, " & ") + ":*"
	b := sqlplan.NewBuilder(sqlplan.Postgres)
	qa := b.Arg(query)
	where, err := b.Filter(p.Filter)
	if err != nil {
		return nil, err
	}
	q := "SELECT e.ref, ts_rank(t.doc, q.q) AS rank FROM to_tsquery('simple', " + qa + ") AS q (q)" +
		" JOIN entity_text t ON t.doc @@ q.q JOIN entities e ON e.id = t.entity_id WHERE " + where +
		" ORDER BY rank DESC, e.ref" + b.LimitOffset(p.Limit, 0)
	rows, err := db.pool.Query(ctx, q, b.Args()...)
	if err != nil {
		return nil, dbErr(ctx, err, "full-text search")
	}
	hits := []store.SearchHit{}
	var h store.SearchHit
	var rank float32
	if _, err := pgx.ForEachRow(rows, []any{&h.Ref, &rank}, func() error {
		h.Rank = float64(rank)
		hits = append(hits, h)
		return nil
	}); err != nil {
		return nil, dbErr(ctx, err, "full-text search")
	}
	return hits, nil
}

// EntityCount returns the number of entities per lowercased kind.
func (db *DB) EntityCount(ctx context.Context) (map[string]int, error) {
	rows, err := db.pool.Query(ctx, "SELECT lower(kind), count(*) FROM entities GROUP BY lower(kind)")
	if err != nil {
		return nil, dbErr(ctx, err, "count entities")
	}
	out := map[string]int{}
	var k string
	var n int
	if _, err := pgx.ForEachRow(rows, []any{&k, &n}, func() error { out[k] = n; return nil }); err != nil {
		return nil, dbErr(ctx, err, "count entities")
	}
	return out, nil
}

// EntityRefsAll returns up to limit refs after the given one, in ref order.
func (db *DB) EntityRefsAll(ctx context.Context, after string, limit int) ([]string, error) {
	b := sqlplan.NewBuilder(sqlplan.Postgres)
	q := "SELECT ref FROM entities WHERE ref > " + b.Arg(after) + " ORDER BY ref" + b.LimitOffset(limit, 0)
	return db.strings(ctx, q, b.Args()...)
}

// EntityDelete removes entities with their search, relation, full-text and
// edge rows. Missing refs are ignored.
func (db *DB) EntityDelete(ctx context.Context, refs []string) error {
	if len(refs) == 0 {
		return nil
	}
	defer db.sets.Wrote() // the next counted page expects changes
	lower := make([]string, len(refs))
	for i, r := range refs {
		lower[i] = strings.ToLower(r)
	}
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, "DELETE FROM entities WHERE ref = ANY($1) RETURNING id", lower)
		if err != nil {
			return dbErr(ctx, err, "delete entities")
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return dbErr(ctx, err, "delete entities")
		}
		steps := []struct {
			q   string
			arg any
		}{
			{"DELETE FROM search WHERE entity_id = ANY($1)", ids},
			{"DELETE FROM entity_text WHERE entity_id = ANY($1)", ids},
			{"DELETE FROM relations WHERE originating_ref = ANY($1)", lower},
			{"DELETE FROM edges WHERE parent = ANY($1)", lower},
			{"DELETE FROM edges WHERE child = ANY($1)", lower},
		}
		for _, s := range steps {
			if _, err := tx.Exec(ctx, s.q, s.arg); err != nil {
				return dbErr(ctx, err, "delete entity rows")
			}
		}
		return nil
	})
	if err != nil {
		return dbErr(ctx, err, "delete entities")
	}
	return nil
}

// strings runs a query returning one text column.
func (db *DB) strings(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := db.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, dbErr(ctx, err, "query")
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, dbErr(ctx, err, "query")
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}
