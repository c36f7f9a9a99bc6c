package azure

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// Simulator serves the simulated subscriptions at /sim/azure/ (nil when
// none is configured): /sim/azure/subscriptions/<id>/… reaches the
// subscription of that id, so a real client whose endpoint is
// <atrium>/sim/azure, or curl, talks to it as to Resource Manager.
func (p *Plugin) Simulator() http.Handler {
	sims := map[string]http.Handler{}
	for _, s := range p.subs {
		if s.sim != nil {
			sims[strings.ToLower(s.sim.SubscriptionID)] = s.sim.Handler(SimPath)
		}
	}
	if len(sims) == 0 {
		return nil
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest := strings.TrimPrefix(r.URL.Path, SimPath+"/subscriptions/")
		id, _, _ := strings.Cut(rest, "/")
		h := sims[strings.ToLower(id)]
		if h == nil || rest == r.URL.Path {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":{"code":"SubscriptionNotFound","message":"No simulated subscription is served at this path; use ` + SimPath + `/subscriptions/<subscription id>/…"}}`))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// simEndpointOK reports whether Atrium's base URL can be the simulated
// subscription's endpoint (the client sends tokens over https, or plain
// http to a loopback address only).
func simEndpointOK(base string) bool {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return false
	}
	h := u.Hostname()
	return u.Scheme == "https" || (u.Scheme == "http" && (h == "127.0.0.1" || h == "localhost" || h == "::1"))
}

// handlerTransport hands the client's requests to an in-process handler
// (the simulator), without a network round trip.
type handlerTransport struct{ h http.Handler }

var _ policy.Transporter = handlerTransport{}

func (t handlerTransport) Do(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	in := req.Clone(req.Context())
	if in.Body == nil {
		in.Body = http.NoBody // as a server's request
	}
	in.Host = req.URL.Host
	t.h.ServeHTTP(rec, in)
	res := rec.Result()
	res.Request = req
	return res, nil
}
