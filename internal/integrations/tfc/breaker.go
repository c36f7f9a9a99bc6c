package tfc

import (
	"context"

	"github.com/atrium-portal/atrium/internal/integrations/breaker"
)

// BreakerOpenError is a call refused because the server is treated as
// down (the client's circuit breaker is open).
type BreakerOpenError = breaker.OpenError

// done records the outcome of a call: Terraform answering 4xx is up;
// its silence, 5xx and 429 (after go-tfe's retries) count as failures.
func done(ctx context.Context, b *breaker.Breaker, err *error) {
	if ctx.Err() != nil {
		return
	}
	s := Status(*err)
	b.Record(*err != nil && (s == 0 || s == 429 || s >= 500))
}
