package tfc

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// breaker stops calling a server that keeps failing: after threshold
// failed requests in a row (no answer, a timeout, 5xx or 429 after the
// retries) it opens for cooldown, during which requests fail at once;
// then one request is let through, and its outcome closes or reopens it.
type breaker struct {
	threshold int
	cooldown  time.Duration

	mu        sync.Mutex
	fails     int
	openUntil time.Time
}

// BreakerOpenError is a request refused because the breaker is open.
type BreakerOpenError struct {
	Failures int
	Until    time.Time
}

func (e *BreakerOpenError) Error() string {
	return fmt.Sprintf("Terraform is treated as down after %d failed requests in a row; the next try is at %s (circuit breaker)",
		e.Failures, e.Until.UTC().Format(time.TimeOnly))
}

// allow refuses a request while the breaker is open.
func (b *breaker) allow() error {
	if b == nil || b.threshold <= 0 {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if now.Before(b.openUntil) {
		return &BreakerOpenError{Failures: b.fails, Until: b.openUntil}
	}
	if b.fails >= b.threshold {
		// Half-open: this request is the probe; others wait for it.
		b.openUntil = now.Add(b.cooldown)
	}
	return nil
}

// record counts the outcome of a request.
func (b *breaker) record(failed bool) {
	if b == nil || b.threshold <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !failed {
		b.fails, b.openUntil = 0, time.Time{}
		return
	}
	b.fails++
	if b.fails >= b.threshold {
		b.openUntil = time.Now().Add(b.cooldown)
	}
}

// done records the outcome of a call: Terraform answering 4xx is up;
// its silence, 5xx and 429 (after go-tfe's retries) count as failures.
func (b *breaker) done(ctx context.Context, err *error) {
	if ctx.Err() != nil {
		return
	}
	s := Status(*err)
	b.record(*err != nil && (s == 0 || s == 429 || s >= 500))
}
