package sqlite

import (
	"context"

	"github.com/atrium-portal/atrium/internal/store"
)

// EntityChangesSince compares the last seq of the entity change log
// (entity_changes, filled by triggers on entities) with mark's. Seqs are
// never reused (AUTOINCREMENT) and one writer at a time commits, so any
// write committed since mark was read has a higher seq; a different seq
// of any kind (a replaced database) counts as a change too. Relation rows
// change only with their originating entity's row, so they are logged
// with it.
func (db *DB) EntityChangesSince(ctx context.Context, mark store.ChangeMark) (store.ChangeMark, bool, error) {
	var seq int64
	if err := db.read.QueryRowContext(ctx, "SELECT coalesce(max(seq), 0) FROM entity_changes").Scan(&seq); err != nil {
		return store.ChangeMark{}, true, dbErr(ctx, err, "read the entity change log")
	}
	next := store.ChangeMark{Valid: true, Pos: uint64(seq)}
	return next, !mark.Valid || mark.Pos != next.Pos, nil
}
