package gitlab

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Budget is a per-host request budget: a token bucket refilled at Rate
// tokens a second up to Burst, paused as a whole when GitLab answers 429
// until the time its Retry-After or RateLimit-Reset header names. Every
// client of the same host shares one Budget, so a rate-limited discovery
// scan also slows the actions on that host.
type Budget struct {
	rate  float64
	burst float64
	now   func() time.Time

	mu          sync.Mutex
	tokens      float64
	last        time.Time
	pausedUntil time.Time
}

// NewBudget returns a full bucket of burst tokens refilled at rate a
// second; rate <= 0 means no limit (only 429 pauses apply).
func NewBudget(rate float64, burst int) *Budget {
	if burst < 1 {
		burst = 1
	}
	return &Budget{rate: rate, burst: float64(burst), tokens: float64(burst), now: time.Now}
}

// Wait takes one token, waiting for it (and for a 429 pause to end) or
// for ctx to be done. It implements gitlab.RateLimiter.
func (b *Budget) Wait(ctx context.Context) error {
	for {
		d := b.reserve()
		if d <= 0 {
			return nil
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// reserve takes a token and returns 0, or returns how long to wait
// before trying again.
func (b *Budget) reserve() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if now.Before(b.pausedUntil) {
		return b.pausedUntil.Sub(now)
	}
	if b.rate <= 0 {
		return 0
	}
	if !b.last.IsZero() {
		b.tokens = math.Min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	return time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
}

// Pause stops every request until t.
func (b *Budget) Pause(until time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if until.After(b.pausedUntil) {
		b.pausedUntil = until
	}
}

// PausedUntil is when the current 429 pause ends (zero when none).
func (b *Budget) PausedUntil() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pausedUntil
}

// retryAfter reads how long GitLab asks to wait: Retry-After (seconds or
// an HTTP date), else RateLimit-Reset (Unix seconds). ok is false when
// neither header is usable.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	if v := h.Get("Retry-After"); v != "" {
		if s, err := strconv.Atoi(v); err == nil && s >= 0 {
			return time.Duration(s) * time.Second, true
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(t.Sub(now), 0), true
		}
	}
	if v := h.Get("RateLimit-Reset"); v != "" {
		if s, err := strconv.ParseInt(v, 10, 64); err == nil && s > 0 {
			return max(time.Unix(s, 0).Sub(now), 0), true
		}
	}
	return 0, false
}
