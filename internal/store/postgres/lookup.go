package postgres

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store/sqlplan"
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

// lookupFetch returns the fetchFunc of lookups by column (ref or uid): the
// entities whose column is any of the keys, each with its relations. The
// plan (a unique index probe per key) is the same whatever the keys, so it
// runs under a generic plan (queryGeneric): planning it for every statement
// cost the database server more than the rest of a small batch.
func (db *DB) lookupFetch(column string) fetchFunc {
	query := "SELECT " + sqlplan.EntityColumns + ", " + getOneRelations + " FROM entities e WHERE e." + column + " = ANY($1)"
	byUID := column == "uid"
	return func(ctx context.Context, keys []string, row func(string, *catalog.Stored, error)) error {
		err := db.queryGeneric(ctx, query, []any{keys}, func(rows pgx.Rows) error {
			var (
				id               int64
				errs, rels       *string
				created, updated time.Time
			)
			for rows.Next() {
				s := &catalog.Stored{}
				errs, rels = nil, nil
				if err := rows.Scan(&id, &s.UID, &s.Ref, &s.Body, &s.Hash, &errs, &created, &updated, &rels); err != nil {
					return err
				}
				s.CreatedAt, s.UpdatedAt = created.UTC(), updated.UTC()
				key := s.Ref
				if byUID {
					key = s.UID
				}
				row(key, s, decodeLookup(s, errs, rels))
			}
			return rows.Err()
		})
		if err != nil {
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
