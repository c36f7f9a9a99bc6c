package kube

import (
	"net/http"

	"github.com/atrium-portal/atrium/internal/integrations/breaker"
)

// ErrCircuitOpen is what a request refused without calling the cluster is
// (errors.Is), while its circuit breaker is open.
var ErrCircuitOpen = breaker.ErrOpen

// breakerTransport puts the cluster's breaker (package breaker) in front
// of a transport: it stops sending requests to a cluster that failed
// threshold requests in a row (no answer, or a 5xx after the retries).
type breakerTransport struct {
	next http.RoundTripper
	b    *breaker.Breaker
}

func (t *breakerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.b.Allow(); err != nil {
		return nil, err
	}
	res, err := t.next.RoundTrip(req)
	if err != nil {
		// A request the caller cancelled says nothing about the cluster.
		t.b.Record(req.Context().Err() == nil)
		return nil, err
	}
	t.b.Record(res.StatusCode >= 500)
	return res, nil
}
