package web

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
)

// reqState is what the server's middleware learns about one request: its
// id, logger, route pattern and so on. It is one context value, filled in
// place as the request passes the middleware, so that a request costs one
// context and one copy of the *http.Request instead of one per middleware,
// and lookups walk a short context chain. Each field is written by one
// middleware before it calls the next handler and only read after, so
// handlers (and their goroutines) see it settled; only the lazily built
// logger is shared between goroutines, and it is atomic.
//
// The state is itself the context it is the value of: it wraps the
// request's context and answers keyState with itself, which saves the
// allocation of a context.WithValue per request. Deadline, Done and Err
// are the wrapped context's, so contexts derived from it are cancelled
// with the request as usual (context finds the wrapped cancelCtx through
// Value, without a goroutine).
type reqState struct {
	context.Context // the request's context the state was added to

	id        string
	base      *slog.Logger
	logger    atomic.Pointer[slog.Logger] // base.With("request_id", id), built on first use
	redact    func(string) string
	errorPage ErrorPageFunc
	pattern   string
	public    bool
	limited   bool // AnonymousRateLimit has charged the request
	csrf      csrfState
	// idHeader backs the X-Request-Id response header's value and rec
	// the access log's recorder, so that neither costs an allocation.
	idHeader [1]string
	rec      recorder
	// routed says the request was routed (routeOn); probe holds the
	// route found.
	routed bool
	probe  routeProbe
	// timeout is the deadline context Timeout derives from the request's
	// (deadline.go), timeoutUsed whether it has.
	timeout     deadlineCtx
	timeoutUsed bool
	// vals holds the values other packages' middleware attach to the
	// request with SetRequestValue (the audit state, the principal).
	vals [2]stateVal
}

// stateVal is one value attached to the request state.
type stateVal struct {
	key, val any
}

// stateOf returns the request state in ctx, or nil outside the middleware.
func stateOf(ctx context.Context) *reqState {
	s, _ := ctx.Value(keyState).(*reqState)
	return s
}

// withState returns the state of r, adding a new one to r when it has none
// (middleware used without WithRequestID, as in tests).
func withState(r *http.Request) (*reqState, *http.Request) {
	if s := stateOf(r.Context()); s != nil {
		return s, r
	}
	s := &reqState{Context: r.Context()}
	return s, r.WithContext(s)
}

// Value returns the state for keyState and asks the wrapped context
// otherwise.
func (s *reqState) Value(key any) any {
	if key == any(keyState) {
		return s
	}
	for i := range s.vals {
		if v := &s.vals[i]; v.key != nil && v.key == key {
			return v.val
		}
	}
	return s.Context.Value(key)
}

// SetRequestValue attaches val under key to the request state in ctx, so
// that ctx, and every context derived from the request's, answers key with
// val, without the copy of the request and the context that
// context.WithValue and Request.WithContext cost. It reports false and
// attaches nothing when ctx carries no request state, when ctx already
// answers key (a closer context would hide the state's value), or when the
// state has no free slot; the caller then adds the value to a new context
// as usual. key must be comparable, as for context.WithValue.
//
// Unlike context.WithValue, the value is also seen by the middleware that
// ran before: the state is shared by the whole request.
func SetRequestValue(ctx context.Context, key, val any) bool {
	s := stateOf(ctx)
	if s == nil || key == nil || ctx.Value(key) != nil {
		return false
	}
	for i := range s.vals {
		if v := &s.vals[i]; v.key == nil {
			v.key, v.val = key, val
			return true
		}
	}
	return false
}

// log returns the request's logger: the base logger with the request id.
func (s *reqState) log() *slog.Logger {
	if l := s.logger.Load(); l != nil {
		return l
	}
	if s.base == nil {
		return nil
	}
	s.logger.CompareAndSwap(nil, s.base.With("request_id", s.id))
	return s.logger.Load()
}
