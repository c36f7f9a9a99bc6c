package azure

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/atrium-portal/atrium/plugin"
)

// breaker is a circuit breaker in the client's pipeline, once per call
// (outside the SDK's retries): after threshold failed calls in a row
// (no answer, 5xx, or 429 after the retries) it refuses calls at once
// for cooldown, then lets one through to probe. 4xx answers other than
// 429 are the caller's and do not count.
type breaker struct {
	threshold int
	cooldown  time.Duration
	now       func() time.Time

	mu       sync.Mutex
	failures int
	openTill time.Time
	probing  bool
}

func (b *breaker) Do(req *policy.Request) (*http.Response, error) {
	if err := b.allow(); err != nil {
		return nil, err
	}
	resp, err := req.Next()
	b.record(req.Raw().Context(), resp, err)
	return resp, err
}

func (b *breaker) allow() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failures < b.threshold {
		return nil
	}
	now := b.now()
	if now.Before(b.openTill) || b.probing {
		return plugin.Errorf(plugin.ErrUnavailable, "Azure is treated as down after %d failed requests in a row; the next try is at %s (circuit breaker)", b.failures, b.openTill.UTC().Format("15:04:05"))
	}
	b.probing = true
	return nil
}

func (b *breaker) record(ctx context.Context, resp *http.Response, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
	failed := false
	switch {
	case err != nil:
		var re *azcore.ResponseError
		if errors.As(err, &re) {
			failed = re.StatusCode >= 500 || re.StatusCode == http.StatusTooManyRequests
		} else {
			failed = ctx.Err() == nil
		}
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		failed = true
	}
	if !failed {
		b.failures = 0
		return
	}
	b.failures++
	if b.failures >= b.threshold {
		b.openTill = b.now().Add(b.cooldown)
	}
}
