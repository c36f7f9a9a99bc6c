package web

import (
	"context"
	"net/http"
	"slices"
	"sync"
)

// Mux is where routes are registered. *http.ServeMux implements it; the
// server registers through a recording Mux so that every route it serves
// can be listed (see Server.Routes) and checked for authentication.
type Mux interface {
	Handle(pattern string, handler http.Handler)
	HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request))
}

var _ Mux = (*http.ServeMux)(nil)

// recordingMux registers on a ServeMux and remembers every pattern. Each
// handler is registered as a route, so that a request can be routed once
// (see route.go).
type recordingMux struct {
	mux *http.ServeMux

	mu       sync.Mutex
	patterns []string
}

func (m *recordingMux) Handle(pattern string, h http.Handler) {
	m.mux.Handle(pattern, &route{pattern: pattern, h: h})
	m.mu.Lock()
	m.patterns = append(m.patterns, pattern)
	m.mu.Unlock()
}

func (m *recordingMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(h))
}

func (m *recordingMux) routes() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.patterns)
}

// publicMatcher tells whether a request is for one of the public route
// patterns.
type publicMatcher struct {
	mux      *http.ServeMux
	patterns []string
	set      map[string]bool
}

func newPublicMatcher(patterns []string) *publicMatcher {
	pm := &publicMatcher{mux: http.NewServeMux(), set: map[string]bool{}}
	for _, p := range patterns {
		if pm.set[p] {
			continue
		}
		pm.set[p] = true
		pm.mux.Handle(p, http.NotFoundHandler())
		pm.patterns = append(pm.patterns, p)
	}
	return pm
}

// match reports whether r is for a public route. pattern is the route the
// server's mux picked for r (withPattern), when known: the request is
// public when that route is one of the public patterns, a map lookup. The
// server's mux holds the public routes too, so this is the route that will
// serve r, and a request that a public pattern matches but a more specific
// route serves is not public. Without a pattern (the middleware used on its
// own) r is matched against the public patterns with the ServeMux's rules;
// that second matching cost a by-name request a fifth of its middleware
// time, much of it building the 405 answer's method list of a miss.
func (pm *publicMatcher) match(r *http.Request, pattern string) bool {
	if pattern != "" {
		return pm.set[pattern]
	}
	_, pattern = pm.mux.Handler(r)
	return pattern != ""
}

// IsPublic reports whether the request in ctx matched a route that needs no
// principal (health checks, sign-in, static assets). Authentication
// middleware lets such requests through without credentials.
func IsPublic(ctx context.Context) bool {
	s := stateOf(ctx)
	return s != nil && s.public
}

// markPublic records in the context whether the request is for a public route.
func markPublic(pm *publicMatcher) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, r := withState(r)
			s.public = pm.match(r, s.pattern)
			next.ServeHTTP(w, r)
		})
	}
}
