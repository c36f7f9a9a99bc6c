// Package breaker is the circuit breaker of Atrium's integration clients:
// it stops calling an external system that keeps failing, so that a dead
// system costs a fast, clear error instead of a timeout per request.
package breaker

import (
	"fmt"
	"sync"
	"time"
)

// Breaker opens after Threshold failed requests in a row (whatever the
// client counts as failed: no answer, a timeout, 5xx or 429 after its
// retries) and refuses requests for Cooldown; then one request is let
// through as a probe, and its outcome closes or reopens it. A nil Breaker
// or one with Threshold <= 0 never opens.
type Breaker struct {
	// System names what is called, in errors ("AWX", "Terraform").
	System    string
	Threshold int
	Cooldown  time.Duration

	mu        sync.Mutex
	fails     int
	openUntil time.Time
}

// New returns a closed breaker.
func New(system string, threshold int, cooldown time.Duration) *Breaker {
	return &Breaker{System: system, Threshold: threshold, Cooldown: cooldown}
}

// OpenError is a request refused because the breaker is open.
type OpenError struct {
	System   string
	Failures int
	Until    time.Time
}

func (e *OpenError) Error() string {
	return fmt.Sprintf("%s is treated as down after %d failed requests in a row; the next try is at %s (circuit breaker)",
		e.System, e.Failures, e.Until.UTC().Format(time.TimeOnly))
}

// Allow refuses a request while the breaker is open (an *OpenError).
func (b *Breaker) Allow() error {
	if b == nil || b.Threshold <= 0 {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if now.Before(b.openUntil) {
		return &OpenError{System: b.System, Failures: b.fails, Until: b.openUntil}
	}
	if b.fails >= b.Threshold {
		// Half-open: this request is the probe; others wait for it.
		b.openUntil = now.Add(b.Cooldown)
	}
	return nil
}

// Record counts the outcome of a request.
func (b *Breaker) Record(failed bool) {
	if b == nil || b.Threshold <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !failed {
		b.fails, b.openUntil = 0, time.Time{}
		return
	}
	b.fails++
	if b.fails >= b.Threshold {
		b.openUntil = time.Now().Add(b.Cooldown)
	}
}
