package store

import (
	"context"
	"time"
)

// RateLimitStore keeps token buckets in the database, so that replicas
// sharing it share rate limits without Redis.
type RateLimitStore interface {
	// RateTake refills the bucket key at rate tokens per second up to burst
	// (a new bucket starts full) and takes one token, atomically, on the
	// database's clock. When the bucket holds less than one token nothing
	// is taken; it returns false and how long until a token is back.
	RateTake(ctx context.Context, key string, rate float64, burst int) (ok bool, retryAfter time.Duration, err error)
	// RatePrune deletes buckets untouched since before (they would be full).
	RatePrune(ctx context.Context, before time.Time) (int64, error)
}
