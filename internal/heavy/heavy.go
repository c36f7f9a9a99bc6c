// Package heavy bounds heavy operations (ingestion passes, template tasks,
// documentation builds, backups started through the API): per kind, a
// number run at once and a bounded number wait, each for a bounded time.
// What finds the queue full, or waits too long, is refused with
// fault.Unavailable and a RetryAfter hint instead of piling up goroutines,
// connections and memory.
package heavy

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/atrium-portal/atrium/internal/fault"
)

// Bound is the limit of one kind.
type Bound struct {
	// Concurrency is how many run at once (at least 1).
	Concurrency int
	// Queue is how many more may wait for a slot (0: none wait).
	Queue int
	// MaxWait is how long one waits at most (0: not at all).
	MaxWait time.Duration
}

// Limiter holds a gate per kind. Its zero value is not usable; use New.
type Limiter struct {
	gates map[string]*gate
}

type gate struct {
	kind  string
	b     Bound
	slots chan struct{}

	mu       sync.Mutex
	waiting  int
	refused  uint64
	admitted uint64
}

// New returns a limiter with the bounds by kind.
func New(bounds map[string]Bound) *Limiter {
	l := &Limiter{gates: map[string]*gate{}}
	for kind, b := range bounds {
		if b.Concurrency < 1 {
			b.Concurrency = 1
		}
		if b.Queue < 0 {
			b.Queue = 0
		}
		l.gates[kind] = &gate{kind: kind, b: b, slots: make(chan struct{}, b.Concurrency)}
	}
	return l
}

// Busy is the error of a refused operation.
type Busy struct {
	Kind string
	// RetryAfter is a hint of when a slot may be free.
	RetryAfter time.Duration
}

func (b *Busy) Error() string { return "too many " + b.Kind + " operations" }

// RetryAfter returns the hint of err when it is a refusal of Acquire.
func RetryAfter(err error) (time.Duration, bool) {
	var b *Busy
	if errors.As(err, &b) {
		return b.RetryAfter, true
	}
	return 0, false
}

// Acquire takes a slot of kind, waiting within the kind's bounds, and
// returns the function that gives it back. A kind without a bound is not
// limited. The error is fault.Unavailable wrapping a *Busy, or ctx's error.
func (l *Limiter) Acquire(ctx context.Context, kind string) (release func(), err error) {
	g := l.gate(kind)
	if g == nil {
		return func() {}, nil
	}
	select {
	case g.slots <- struct{}{}:
		g.count(false)
		return g.release, nil
	default:
	}
	g.mu.Lock()
	if g.waiting >= g.b.Queue || g.b.MaxWait <= 0 {
		g.refused++
		g.mu.Unlock()
		return nil, g.busy("queue is full")
	}
	g.waiting++
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.waiting--
		g.mu.Unlock()
	}()
	t := time.NewTimer(g.b.MaxWait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		g.count(false)
		return g.release, nil
	case <-t.C:
		g.count(true)
		return nil, g.busy("waited " + g.b.MaxWait.String() + " for a slot")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (l *Limiter) gate(kind string) *gate {
	if l == nil {
		return nil
	}
	return l.gates[kind]
}

func (g *gate) release() { <-g.slots }

func (g *gate) count(refused bool) {
	g.mu.Lock()
	if refused {
		g.refused++
	} else {
		g.admitted++
	}
	g.mu.Unlock()
}

// busy is the refusal: Retry-After is the longest wait a queued operation
// accepts, at least a second.
func (g *gate) busy(why string) error {
	retry := max(g.b.MaxWait, time.Second)
	return fault.Wrap(fault.Unavailable, &Busy{Kind: g.kind, RetryAfter: retry},
		"too many %s operations at once (%s; limit atrium.limits.heavy.%s: concurrency %d, queue %d); try again later",
		g.kind, why, g.kind, g.b.Concurrency, g.b.Queue)
}

// Stats is what a gate has done since the process started.
type Stats struct {
	Running  int
	Waiting  int
	Admitted uint64
	Refused  uint64
}

// Stats returns the state of each kind.
func (l *Limiter) Stats() map[string]Stats {
	out := map[string]Stats{}
	if l == nil {
		return out
	}
	for kind, g := range l.gates {
		g.mu.Lock()
		out[kind] = Stats{Running: len(g.slots), Waiting: g.waiting, Admitted: g.admitted, Refused: g.refused}
		g.mu.Unlock()
	}
	return out
}
