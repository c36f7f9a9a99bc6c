package auth

import (
	"sync"
	"time"
)

// touchLimiter throttles last-used writes: a session or token used many
// times a second is written at most once per interval.
type touchLimiter struct {
	every time.Duration
	mu    sync.Mutex
	last  map[string]time.Time
}

func newTouchLimiter(every time.Duration) *touchLimiter {
	return &touchLimiter{every: every, last: map[string]time.Time{}}
}

// due reports whether key's last-used time should be written now; stored
// is the time the database holds.
func (t *touchLimiter) due(key string, stored, now time.Time) bool {
	if now.Sub(stored) < t.every {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if now.Sub(t.last[key]) < t.every {
		return false
	}
	if len(t.last) > 100_000 {
		t.last = map[string]time.Time{}
	}
	t.last[key] = now
	return true
}
