package postgres

import (
	"context"
	"strconv"

	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/store/sqlplan"
)

// EntityChangesSince reads, in one statement, the log's frontier (the
// oldest transaction that may still commit entity changes,
// sqlplan.PGFrontierSQL), the number of log rows at or past it, the
// number at or past mark's frontier and the largest xid pruned. Every
// transaction that commits a change after mark was read either was
// running then (its xid is at or past mark's frontier) or began later
// (its xid is higher still): its rows raise the count at or past mark's
// frontier above the count mark saw then. Rows are only removed by
// pruning below a cut, which the pruned xid reports when it reaches
// mark's frontier. TRUNCATE logs a row too. Relation rows change only
// with their originating entity's row, so they are logged with it.
func (db *DB) EntityChangesSince(ctx context.Context, mark store.ChangeMark) (store.ChangeMark, bool, error) {
	front := sqlplan.PGFrontierSQL()
	q := "WITH f AS MATERIALIZED (SELECT " + front + " AS x)" +
		" SELECT (SELECT x FROM f)::text," +
		" (SELECT count(*) FROM entity_changes WHERE xid >= (SELECT x FROM f))," +
		" (SELECT count(*) FROM entity_changes WHERE xid >= $1::text::xid8)," +
		" (SELECT below::text FROM entity_changes_pruned)"
	var frontText, belowText string
	var seenNow, seenSinceMark int64
	if err := db.pool.QueryRow(ctx, q, strconv.FormatUint(mark.Pos, 10)).Scan(&frontText, &seenNow, &seenSinceMark, &belowText); err != nil {
		return store.ChangeMark{}, true, dbErr(ctx, err, "read the entity change log")
	}
	front64, err1 := strconv.ParseUint(frontText, 10, 64)
	below, err2 := strconv.ParseUint(belowText, 10, 64)
	if err1 != nil || err2 != nil {
		return store.ChangeMark{}, true, dbErr(ctx, firstErr(err1, err2), "read the entity change log")
	}
	next := store.ChangeMark{Valid: true, Pos: front64, Seen: uint64(seenNow)}
	changed := !mark.Valid || uint64(seenSinceMark) != mark.Seen || below >= mark.Pos
	return next, changed, nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
