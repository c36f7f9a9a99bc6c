package sqlite

import (
	"context"
	"database/sql"
	"math"
	"time"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
)

var _ store.RateLimitStore = (*DB)(nil)

// RateTake reads, refills and writes the bucket in one write transaction;
// the single writer serialises takes (also across processes sharing the
// file).
func (db *DB) RateTake(ctx context.Context, key string, rate float64, burst int) (bool, time.Duration, error) {
	if rate <= 0 || burst <= 0 {
		return false, 0, fault.New(fault.Invalid, "rate limit needs a positive rate and burst")
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return false, 0, dbErr(ctx, err, "begin rate limit take")
	}
	defer tx.Rollback()
	now := time.Now().UnixMicro()
	tokens := float64(burst)
	var last int64
	switch err := tx.QueryRowContext(ctx, "SELECT tokens, updated_at FROM rate_buckets WHERE key = ?", key).Scan(&tokens, &last); {
	case err == sql.ErrNoRows:
	case err != nil:
		return false, 0, dbErr(ctx, err, "read rate bucket")
	case now > last:
		tokens = math.Min(float64(burst), tokens+float64(now-last)/1e6*rate)
	}
	ok := tokens >= 1
	if ok {
		tokens--
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO rate_buckets (key, tokens, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET tokens = excluded.tokens, updated_at = excluded.updated_at`, key, tokens, now); err != nil {
		return false, 0, dbErr(ctx, err, "write rate bucket")
	}
	if err := tx.Commit(); err != nil {
		return false, 0, dbErr(ctx, err, "commit rate limit take")
	}
	if ok {
		return true, 0, nil
	}
	return false, time.Duration(math.Ceil((1-tokens)/rate*1e6)) * time.Microsecond, nil
}

// RatePrune deletes buckets untouched since before.
func (db *DB) RatePrune(ctx context.Context, before time.Time) (int64, error) {
	res, err := db.write.ExecContext(ctx, "DELETE FROM rate_buckets WHERE updated_at < ?", before.UnixMicro())
	if err != nil {
		return 0, dbErr(ctx, err, "prune rate buckets")
	}
	n, _ := res.RowsAffected()
	return n, nil
}
