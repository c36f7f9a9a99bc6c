package web

import "net/http"

// A request is routed once, early in the middleware chain: the audit log,
// the rate limits, the metrics and the tracing name its route before it
// reaches the handler. Asking the ServeMux for the pattern (Handler) and
// letting it route again at the end of the chain (ServeHTTP) cost a
// by-name request two walks of the routing tree and the path values'
// slice grown twice, a sixth of its middleware time. Instead the mux
// routes the request once, with a probe for a ResponseWriter: every
// registered handler is a route, which records itself in the probe rather
// than serving, and the ServeMux has set the request's path values by
// then. The end of the chain calls the recorded route's handler directly.

// route is a handler as registered on the server's mux, with its pattern.
type route struct {
	pattern string
	h       http.Handler
}

// ServeHTTP serves r, or records the route when the mux is only probed.
func (rt *route) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p, ok := w.(*routeProbe); ok {
		p.route = rt
		return
	}
	rt.h.ServeHTTP(w, r)
}

// routeProbe is the ResponseWriter the mux routes a request with. Only the
// ServeMux's own answers (405, redirects, a malformed request) write to it,
// and those are discarded: such a request is routed again, for real, at
// the end of the chain.
type routeProbe struct {
	route  *route // the registered route that will serve the request
	header http.Header
}

func (p *routeProbe) Header() http.Header {
	if p.header == nil {
		p.header = http.Header{}
	}
	return p.header
}

func (p *routeProbe) Write(b []byte) (int, error) { return len(b), nil }

func (p *routeProbe) WriteHeader(int) {}

// routeOn routes r on mux, once per request state: it sets r's path values
// and records the route and its pattern, the pattern mux.Handler would
// give.
func (s *reqState) routeOn(mux *http.ServeMux, r *http.Request) {
	if s.routed {
		return
	}
	s.routed = true
	mux.ServeHTTP(&s.probe, r)
	if rt := s.probe.route; rt != nil {
		s.pattern = rt.pattern
		return
	}
	// The mux answers r itself; the pattern of a redirect is the
	// route's that the redirect leads to.
	_, s.pattern = mux.Handler(r)
}

// dispatch is the end of the server's middleware chain: the handler of the
// route the request was routed to, or the mux when it answers itself or
// the request was not routed (a handler re-dispatching a request through
// the server gets a new state, and is routed again).
func dispatch(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s := stateOf(r.Context()); s != nil && s.probe.route != nil {
			s.probe.route.h.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}
