package postgres

import (
	"context"
	"math"
	"time"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
)

var _ store.RateLimitStore = (*DB)(nil)

// RateTake is one upsert: the row lock it takes serialises concurrent
// takes from every replica, and clock_timestamp() is the one clock.
func (db *DB) RateTake(ctx context.Context, key string, rate float64, burst int) (bool, time.Duration, error) {
	if rate <= 0 || burst <= 0 {
		return false, 0, fault.New(fault.Invalid, "rate limit needs a positive rate and burst")
	}
	var ok bool
	var tokens float64
	err := db.pool.QueryRow(ctx, `
INSERT INTO rate_buckets AS b (key, tokens, updated_at, allowed) VALUES ($1, $3::float8 - 1, clock_timestamp(), true)
ON CONFLICT (key) DO UPDATE SET
    allowed = LEAST($3::float8, b.tokens + GREATEST(0, EXTRACT(EPOCH FROM clock_timestamp() - b.updated_at)) * $2::float8) >= 1,
    tokens = LEAST($3::float8, b.tokens + GREATEST(0, EXTRACT(EPOCH FROM clock_timestamp() - b.updated_at)) * $2::float8)
           - CASE WHEN LEAST($3::float8, b.tokens + GREATEST(0, EXTRACT(EPOCH FROM clock_timestamp() - b.updated_at)) * $2::float8) >= 1 THEN 1 ELSE 0 END,
    updated_at = clock_timestamp()
RETURNING allowed, tokens`, key, rate, burst).Scan(&ok, &tokens)
	if err != nil {
		return false, 0, dbErr(ctx, err, "take rate limit token")
	}
	if ok {
		return true, 0, nil
	}
	return false, time.Duration(math.Ceil((1-tokens)/rate*1e6)) * time.Microsecond, nil
}

// RatePrune deletes buckets untouched since before.
func (db *DB) RatePrune(ctx context.Context, before time.Time) (int64, error) {
	tag, err := db.pool.Exec(ctx, "DELETE FROM rate_buckets WHERE updated_at < $1", before)
	if err != nil {
		return 0, dbErr(ctx, err, "prune rate buckets")
	}
	return tag.RowsAffected(), nil
}
