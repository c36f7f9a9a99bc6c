package awx

import "github.com/atrium-portal/atrium/internal/integrations/breaker"

// BreakerOpenError is a request refused because the controller is treated
// as down (the client's circuit breaker is open).
type BreakerOpenError = breaker.OpenError
