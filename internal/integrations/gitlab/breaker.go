package gitlab

import (
	"net/http"
	"time"

	"github.com/atrium-portal/atrium/internal/integrations/breaker"
)

// ErrCircuitOpen is what a request refused without calling GitLab is
// (errors.Is), while the host's circuit breaker is open.
var ErrCircuitOpen = breaker.ErrOpen

// Breaker is the host's circuit breaker (package breaker): it opens after
// Threshold consecutive failures (transport errors and 5xx answers).
type Breaker = breaker.Breaker

// newBreaker returns the closed breaker of a GitLab host (default: open
// after 5 failures, for 30s).
func newBreaker(host string, threshold int, cooldown time.Duration) *Breaker {
	if threshold < 1 {
		threshold = 5
	}
	if cooldown <= 0 {
		cooldown = 30 * time.Second
	}
	return breaker.New("GitLab "+host, threshold, cooldown)
}

// transport applies the breaker and the budget's 429 pauses to every
// request (each retry included).
type transport struct {
	next    http.RoundTripper
	breaker *Breaker
	budget  *Budget
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.breaker.Allow(); err != nil {
		return nil, err
	}
	resp, err := t.next.RoundTrip(req)
	failed := err != nil || resp.StatusCode >= 500
	t.breaker.Record(failed)
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		if d, ok := retryAfter(resp.Header, time.Now()); ok {
			t.budget.Pause(time.Now().Add(d))
		}
	}
	return resp, err
}
