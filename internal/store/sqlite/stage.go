package sqlite

import (
	"context"
	"database/sql"
	"time"
)

// During a first bulk load the relation rows are staged: appended to
// relations_staged in arrival order and merged into relations, in that
// table's key order, in large batches. relations is keyed by source ref,
// and refs arrive in no order, so the ~5,700 rows of a transaction of 1000
// entities landed on ~5,000 different pages of the table at the end of a
// 100k load: nearly one 4 KiB log frame, and later one checkpoint copy, per
// row (docs/benchmarks.md, "SQLite ingestion: where the last seconds go").
// A merge of stageMergeRows rows in key order rewrites each page of the
// table at most once, and appending to the staging table writes only its
// last pages and those of its small originating_ref index.
//
// Reads see the relations table only, so a staged row becomes visible when
// its batch is merged: during a first load an entity's relations show up a
// bounded time after the entity (stageMergeRows rows, or stageMergeAge since
// the oldest staged row, checked at every write), and BulkEnd merges the
// rest before it builds the indexes. Incoming relations are incomplete
// during a first load anyway, until the other side is loaded.
const (
	// stageAfterRows is how many relation rows a bulk load writes directly
	// before it stages: up to ~1,000 pages the table stays in the write
	// connection's cache (4,096 pages by default), where random inserts
	// cost no more than appends, and a small load (or a test inside a bulk
	// load) sees every relation as soon as it is written.
	stageAfterRows = 20_000
	// stageMergeRows is the batch: the staged rows are merged once there
	// are at least this many. A merge rewrites up to every page of the
	// relations table (22,000 at 100k entities) whatever the batch, so the
	// larger the batch the fewer the pages per row; 100,000 rows are ~17
	// transactions of 1000 entities, 1–2 s of a quiet load, and a 10 MB
	// staging table.
	stageMergeRows = 100_000
	// stageMergeAge bounds how long a staged row waits for its merge when
	// writes slow down: rows older than this are merged at the next write.
	stageMergeAge = 10 * time.Second
)

// stageState is the bulk load's staging, guarded by DB.mu. Writes are
// serialised on the one write connection; the mutex only orders the
// fields between the goroutines that take turns on it.
type stageState struct {
	// bulk is set from BulkBegin to BulkEnd.
	bulk bool
	// direct counts the relation rows the bulk load wrote into relations.
	direct int
	// staged counts the rows in relations_staged; since is when the oldest
	// was written.
	staged int
	since  time.Time
	// The thresholds, from the constants above; tests lower them.
	afterRows, mergeRows int
	mergeAge             time.Duration
}

// stagePlan is what one write does about staging.
type stagePlan struct {
	// stage sends this write's relation rows to relations_staged.
	stage bool
	// bulk says a bulk load is in progress: an entity written again may
	// have staged rows to replace.
	bulk bool
}

// planStage decides where a write's relation rows go.
func (db *DB) planStage() stagePlan {
	db.mu.Lock()
	defer db.mu.Unlock()
	s := &db.stage
	return stagePlan{bulk: s.bulk, stage: s.bulk && s.direct >= s.afterRows}
}

// mergeDue reports whether the staged rows are to be merged now.
func (db *DB) mergeDue(now time.Time) bool {
	db.mu.Lock()
	defer db.mu.Unlock()
	s := &db.stage
	return s.staged > 0 && (s.staged >= s.mergeRows || now.Sub(s.since) >= s.mergeAge)
}

// wrote records a committed write of n relation rows, staged or not.
func (db *DB) wrote(p stagePlan, n int, now time.Time) {
	db.mu.Lock()
	defer db.mu.Unlock()
	s := &db.stage
	switch {
	case p.stage && n > 0:
		if s.staged == 0 {
			s.since = now
		}
		s.staged += n
	case p.bulk:
		s.direct += n
	}
}

// merged records that the staging table was emptied.
func (db *DB) merged() {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.stage.staged = 0
}

// mergeStaged moves every staged relation row into relations, in that
// table's key order, within tx.
func mergeStaged(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, "INSERT OR FAIL INTO relations (originating_ref, source_ref, type, type_lower, target_ref)"+
		" SELECT originating_ref, source_ref, type, type_lower, target_ref FROM relations_staged"+
		" ORDER BY source_ref, type_lower, target_ref, originating_ref, type"); err != nil {
		return dbErr(ctx, err, "merge staged relations")
	}
	// Without a WHERE clause SQLite empties the table and its index by
	// freeing their pages, without visiting the rows.
	if _, err := tx.ExecContext(ctx, "DELETE FROM relations_staged"); err != nil {
		return dbErr(ctx, err, "empty staged relations")
	}
	return nil
}

// mergeAllStaged merges whatever relations_staged holds in a transaction of
// its own: after a write that found the batch due, at BulkEnd, and at
// Migrate after a bulk load that was cut short. The sort behind the merge
// keeps up to the page cache's size in memory and spills the rest to
// temporary files, as the index builds do, so that it stays within the
// memory budget (memory the C allocator gets under modernc stays with the
// process).
func (db *DB) mergeAllStaged(ctx context.Context) error {
	var any int
	if err := db.write.QueryRowContext(ctx, "SELECT count(*) FROM (SELECT 1 FROM relations_staged LIMIT 1)").Scan(&any); err != nil {
		return dbErr(ctx, err, "check staged relations")
	}
	if any == 0 {
		db.merged()
		return nil
	}
	if _, err := db.write.ExecContext(ctx, "PRAGMA temp_store = FILE"); err != nil {
		return dbErr(ctx, err, "merge staged relations")
	}
	defer db.write.ExecContext(context.WithoutCancel(ctx), "PRAGMA temp_store = MEMORY")
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return dbErr(ctx, err, "begin merge of staged relations")
	}
	defer tx.Rollback()
	if err := mergeStaged(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return dbErr(ctx, err, "commit merge of staged relations")
	}
	db.merged()
	return nil
}
