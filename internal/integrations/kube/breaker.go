package kube

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// ErrCircuitOpen is returned without a request while a cluster's circuit
// breaker is open.
var ErrCircuitOpen = errors.New("circuit breaker open")

// breaker stops sending requests to a cluster that failed threshold
// requests in a row (no answer, or a 5xx after the retries) for cooldown;
// then one probe is let through, and its outcome closes or reopens it.
type breaker struct {
	threshold int
	cooldown  time.Duration

	mu       sync.Mutex
	failures int
	openedAt time.Time
	probing  bool
	now      func() time.Time
}

func (b *breaker) allow() error {
	if b == nil || b.threshold < 0 {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failures < b.threshold {
		return nil
	}
	if wait := b.openedAt.Add(b.cooldown).Sub(b.now()); wait > 0 || b.probing {
		return fmt.Errorf("%w after %d failed requests in a row; next try in %s", ErrCircuitOpen, b.failures, max(wait, 0).Round(time.Millisecond))
	}
	b.probing = true
	return nil
}

func (b *breaker) record(failed bool) {
	if b == nil || b.threshold < 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
	if !failed {
		b.failures = 0
		return
	}
	b.failures++
	if b.failures >= b.threshold {
		b.openedAt = b.now()
	}
}

// breakerTransport puts the breaker in front of a transport.
type breakerTransport struct {
	next http.RoundTripper
	b    *breaker
}

func (t *breakerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.b.allow(); err != nil {
		return nil, err
	}
	res, err := t.next.RoundTrip(req)
	if err != nil {
		// A request the caller cancelled says nothing about the cluster.
		t.b.record(req.Context().Err() == nil)
		return nil, err
	}
	t.b.record(res.StatusCode >= 500)
	return res, nil
}
