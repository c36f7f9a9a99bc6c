package postgres

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
)

// EntityGetByRef returns one entity; fault.NotFound when absent. Concurrent
// lookups share statements (see coalescer).
func (db *DB) EntityGetByRef(ctx context.Context, ref string) (*catalog.Stored, error) {
	s, err := db.byRef.get(ctx, strings.ToLower(ref))
	if err == nil && s == nil {
		return nil, fault.New(fault.NotFound, "No entity with ref %s", ref)
	}
	return s, err
}

// EntityGetByUID returns one entity; fault.NotFound when absent. Concurrent
// lookups share statements (see coalescer).
func (db *DB) EntityGetByUID(ctx context.Context, uid string) (*catalog.Stored, error) {
	s, err := db.byUID.get(ctx, uid)
	if err == nil && s == nil {
		return nil, fault.New(fault.NotFound, "No entity with uid %s", uid)
	}
	return s, err
}

// getOneRelations aggregates an entity's relations into one text column of
// the lookup, (type US target) records separated by RS: one round trip
// instead of two. The records come in the key's order, one per originating
// entity, and decodeLookup sorts them and drops duplicates
// (store.SortRelations): a DISTINCT … ORDER BY here cost the database
// server more CPU per lookup, and it shares the machine's cores. Types and
// refs never hold those control characters.
const getOneRelations = "(SELECT string_agg(type || chr(31) || target_ref, chr(30))" +
	" FROM relations WHERE source_ref = e.ref)"

// lookupPoolConfig returns the configuration of the pool that lookups by
// ref and by uid run on: the main pool's (pc), with connections whose
// prepared statements run under a generic plan, without JIT. The plan of a
// lookup (a unique index probe per key) is the same whatever the keys, and
// planning it for every statement cost the database server more than the
// rest of a small batch; on connections of their own, lookups need no
// set_config statement before each one to say so (queryGeneric), which cost
// the database server a second statement's executor start and the process
// a batch per lookup. Only the lookup statements run on these connections.
//
// Its connections are part of the process's one bound (pc.MaxConns, see
// lookupConns); pc's own bound is not changed here.
func lookupPoolConfig(pc *pgxpool.Config, batch int) *pgxpool.Config {
	lc := pc.Copy()
	lc.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_generic_plan"
	lc.ConnConfig.RuntimeParams["jit"] = "off"
	lc.MaxConns = lookupConns(pc.MaxConns, batch)
	lc.MinConns, lc.MinIdleConns = 0, 0
	return lc
}

// lookupConns returns how many of total connections the lookups' pool
// takes: a third, at least one, and while lookups are coalesced no more
// than the statements that can be in flight (lookupStatements of each
// kind, by ref and by uid): 2 of the default 6 on 2 CPUs. The rest, at
// least one, is the main pool's, which keeps most: a bulk load's end
// builds indexes on two of its connections while readers need theirs.
func lookupConns(total int32, batch int) int32 {
	n := max(1, total/3)
	if batch != 1 {
		n = min(n, 2*lookupStatements)
	}
	return n
}

// lookupColumns are the columns a lookup reads: sqlplan.EntityColumns
// without the internal id, which it does not need, then the relations.
const lookupColumns = "e.uid, e.ref, e.body, e.hash, e.errors, e.created_at, e.updated_at, " + getOneRelations

// lookupRow is what one row of a lookup is scanned into.
type lookupRow struct {
	uid, ref, hash   string
	body             []byte
	errs, rels       *string
	created, updated time.Time
}

// lookupFetch returns the fetchFunc of lookups by column (ref or uid): the
// entities whose column is any of the keys, each with its relations, read
// on the lookup pool under a generic plan (see lookupPoolConfig).
func (db *DB) lookupFetch(column string) fetchFunc {
	query := "SELECT " + lookupColumns + " FROM entities e WHERE e." + column + " = ANY($1)"
	byUID := column == "uid"
	return func(ctx context.Context, keys []string, row func(string, *catalog.Stored, error)) error {
		rows, err := db.lookups.Query(ctx, query, keys)
		if err != nil {
			return dbErr(ctx, err, "read entity")
		}
		defer rows.Close()
		// One scan target and one list of destinations for all the rows:
		// each of them would otherwise be allocated per row.
		var r lookupRow
		dest := []any{&r.uid, &r.ref, &r.body, &r.hash, &r.errs, &r.created, &r.updated, &r.rels}
		for rows.Next() {
			r.body, r.errs, r.rels = nil, nil, nil
			if err := rows.Scan(dest...); err != nil {
				return dbErr(ctx, err, "read entity")
			}
			s := &catalog.Stored{UID: r.uid, Ref: r.ref, Body: r.body, Hash: r.hash,
				CreatedAt: r.created.UTC(), UpdatedAt: r.updated.UTC()}
			key := s.Ref
			if byUID {
				key = s.UID
			}
			row(key, s, decodeLookup(s, r.errs, r.rels))
		}
		if err := rows.Err(); err != nil {
			return dbErr(ctx, err, "read entity")
		}
		return nil
	}
}

// decodeLookup sets the status items and relations of s from the errors
// column and the relations aggregate of a lookup.
func decodeLookup(s *catalog.Stored, errs, rels *string) error {
	if errs != nil && *errs != "" {
		if err := json.Unmarshal([]byte(*errs), &s.Errors); err != nil {
			return fault.Wrap(fault.Internal, err, "decode stored status items of %s", s.Ref)
		}
	}
	if rels != nil && *rels != "" {
		r, err := listRelations(s.Ref, rels)
		if err != nil {
			return err
		}
		s.Relations = r
	}
	return nil
}
