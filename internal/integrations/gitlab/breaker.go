package gitlab

import (
	"errors"
	"net/http"
	"sync"
	"time"
)

// ErrCircuitOpen is returned without calling GitLab while the host's
// circuit breaker is open.
var ErrCircuitOpen = errors.New("circuit breaker open")

// Breaker opens after Threshold consecutive failures (transport errors
// and 5xx answers) and refuses requests for Cooldown; then one request is
// let through, and its success closes the breaker again.
type Breaker struct {
	Threshold int
	Cooldown  time.Duration
	now       func() time.Time

	mu        sync.Mutex
	failures  int
	openUntil time.Time
}

// NewBreaker returns a closed breaker.
func NewBreaker(threshold int, cooldown time.Duration) *Breaker {
	if threshold < 1 {
		threshold = 5
	}
	if cooldown <= 0 {
		cooldown = 30 * time.Second
	}
	return &Breaker{Threshold: threshold, Cooldown: cooldown, now: time.Now}
}

// allow reports whether a request may go out now.
func (b *Breaker) allow() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failures < b.Threshold {
		return true
	}
	now := b.now()
	if now.Before(b.openUntil) {
		return false
	}
	// Half-open: this request probes; others wait for its outcome.
	b.openUntil = now.Add(b.Cooldown)
	return true
}

// record counts the outcome of one request.
func (b *Breaker) record(failed bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !failed {
		b.failures = 0
		return
	}
	b.failures++
	if b.failures >= b.Threshold {
		b.openUntil = b.now().Add(b.Cooldown)
	}
}

// Open reports whether the breaker refuses requests now.
func (b *Breaker) Open() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.failures >= b.Threshold && b.now().Before(b.openUntil)
}

// transport applies the breaker and the budget's 429 pauses to every
// request (each retry included).
type transport struct {
	next    http.RoundTripper
	breaker *Breaker
	budget  *Budget
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !t.breaker.allow() {
		return nil, ErrCircuitOpen
	}
	resp, err := t.next.RoundTrip(req)
	failed := err != nil || resp.StatusCode >= 500
	t.breaker.record(failed)
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		if d, ok := retryAfter(resp.Header, time.Now()); ok {
			t.budget.Pause(time.Now().Add(d))
		}
	}
	return resp, err
}
