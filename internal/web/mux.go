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

// recordingMux registers on a ServeMux and remembers every pattern.
type recordingMux struct {
	mux *http.ServeMux

	mu       sync.Mutex
	patterns []string
}

func (m *recordingMux) Handle(pattern string, h http.Handler) {
	m.mux.Handle(pattern, h)
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

// publicMatcher tells whether a request matches one of the public route
// patterns, with exactly the ServeMux's matching rules.
type publicMatcher struct {
	mux      *http.ServeMux
	patterns []string
}

func newPublicMatcher(patterns []string) *publicMatcher {
	pm := &publicMatcher{mux: http.NewServeMux()}
	seen := map[string]bool{}
	for _, p := range patterns {
		if seen[p] {
			continue
		}
		seen[p] = true
		pm.mux.Handle(p, http.NotFoundHandler())
		pm.patterns = append(pm.patterns, p)
	}
	return pm
}

func (pm *publicMatcher) match(r *http.Request) bool {
	_, pattern := pm.mux.Handler(r)
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
			s.public = pm.match(r)
			next.ServeHTTP(w, r)
		})
	}
}
