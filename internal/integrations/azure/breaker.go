package azure

import (
	"context"
	"errors"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/atrium-portal/atrium/internal/integrations/breaker"
	"github.com/atrium-portal/atrium/plugin"
)

// breakerPolicy puts the subscription's circuit breaker (package breaker)
// in the client's pipeline, once per call (outside the SDK's retries):
// no answer, 5xx, or 429 after the retries count as failures; 4xx answers
// other than 429 are the caller's and do not count.
type breakerPolicy struct {
	b *breaker.Breaker
}

func (p breakerPolicy) Do(req *policy.Request) (*http.Response, error) {
	if err := p.b.Allow(); err != nil {
		return nil, plugin.Errorf(plugin.ErrUnavailable, "%w", err)
	}
	resp, err := req.Next()
	p.b.Record(failed(req.Raw().Context(), resp, err))
	return resp, err
}

func failed(ctx context.Context, resp *http.Response, err error) bool {
	if err != nil {
		var re *azcore.ResponseError
		if errors.As(err, &re) {
			return re.StatusCode >= 500 || re.StatusCode == http.StatusTooManyRequests
		}
		return ctx.Err() == nil
	}
	return resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests
}
