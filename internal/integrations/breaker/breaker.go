// Package breaker is the one circuit breaker of Atrium's integration
// clients (GitLab, Kubernetes, AWX, Terraform, Azure): it stops calling an
// external system that keeps failing, so that a dead system costs a fast,
// clear error instead of a timeout per request. Every breaker made by New
// is listed by States, for /metrics and the Operations page.
package breaker

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// ErrOpen is what every *OpenError is (errors.Is).
var ErrOpen = errors.New("circuit breaker open")

// Breaker opens after Threshold failed requests in a row (whatever the
// client counts as failed: no answer, a timeout, 5xx or 429 after its
// retries) and refuses requests for Cooldown; then one request is let
// through as a probe, and its outcome closes or reopens it. A nil Breaker
// or one with Threshold <= 0 never opens.
type Breaker struct {
	// System names what is called, in errors and metrics ("AWX",
	// "GitLab gitlab.example.com").
	System    string
	Threshold int
	Cooldown  time.Duration
	// Now is the clock (nil: time.Now).
	Now func() time.Time

	mu        sync.Mutex
	fails     int
	openUntil time.Time
}

// New returns a closed breaker, listed by States under system (replacing
// an earlier breaker of the same system, as when a client is rebuilt).
func New(system string, threshold int, cooldown time.Duration) *Breaker {
	b := &Breaker{System: system, Threshold: threshold, Cooldown: cooldown}
	registry.Store(system, b)
	return b
}

var registry sync.Map // system → *Breaker

// State is a breaker as /metrics and the Operations page show it.
type State struct {
	System   string
	Open     bool
	Failures int
}

// States returns the state of every breaker made by New, by system.
func States() []State {
	var out []State
	registry.Range(func(_, v any) bool {
		out = append(out, v.(*Breaker).State())
		return true
	})
	slices.SortFunc(out, func(a, b State) int { return strings.Compare(a.System, b.System) })
	return out
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

// Is makes every OpenError match ErrOpen.
func (e *OpenError) Is(target error) bool { return target == ErrOpen }

func (b *Breaker) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

// Allow refuses a request while the breaker is open (an *OpenError).
func (b *Breaker) Allow() error {
	if b == nil || b.Threshold <= 0 {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fails < b.Threshold {
		return nil
	}
	now := b.now()
	if now.Before(b.openUntil) {
		return &OpenError{System: b.System, Failures: b.fails, Until: b.openUntil}
	}
	// Half-open: this request is the probe; others are refused for
	// another cooldown unless its outcome closes the breaker first (a
	// probe whose outcome never comes costs one cooldown, not forever).
	b.openUntil = now.Add(b.Cooldown)
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
		b.openUntil = b.now().Add(b.Cooldown)
	}
}

// Open reports whether the breaker refuses requests now.
func (b *Breaker) Open() bool { return b.State().Open }

// State returns the breaker's state now.
func (b *Breaker) State() State {
	if b == nil {
		return State{}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	open := b.Threshold > 0 && b.fails >= b.Threshold && b.now().Before(b.openUntil)
	return State{System: b.System, Open: open, Failures: b.fails}
}
