package web

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// deadlineCtx is the request's context under Timeout: context.WithTimeout's
// semantics without its cost when nobody waits on it. A context.WithTimeout
// per request cost five allocations and a timer in the runtime's heap (the
// timerCtx, its timer, and on net/http's per-request context the children
// map and the Done channel), although most requests finish without anyone
// selecting on Done: a cached answer never does, nor a SQLite lookup (the
// store reads without the caller's cancellation).
//
// Until a caller asks for Done, or asks for the cause after the deadline
// (context.Cause), or the request ends, the context is its parent plus a
// deadline that Err checks against the clock. The first Done derives the
// real context (context.WithDeadline of the parent), and from then on every
// method is that context's, so children register with it and are cancelled
// with it as usual. When the request ends before that, the context is done
// with the error it would have had: context.DeadlineExceeded when the
// deadline had passed, the parent's error when the parent was done, and
// context.Canceled otherwise; a Done asked for afterwards is already
// closed. (When both the deadline has passed and the parent is done before
// anyone looked, the deadline counts as first, unless the parent's own
// deadline was the earlier: a timer would most likely have fired first.)
type deadlineCtx struct {
	parent context.Context
	own    time.Time // the deadline Timeout set
	// earliest is the deadline Deadline reports: own, or the parent's
	// when that is earlier.
	earliest time.Time

	mu sync.Mutex // serialises derive and end
	// derived is set, under mu, once the real context (dctx, dcancel,
	// written before) exists; a field each rather than a pointer to a
	// pair, which would cost an allocation when derived.
	derived atomic.Bool
	dctx    context.Context
	dcancel context.CancelFunc
	ended   atomic.Bool // written under mu
	endWith endKind     // set under mu before ended
}

type endKind int

const (
	endCanceled endKind = iota // the request ended before anything else
	endDeadline                // the deadline had passed when it ended
	endParent                  // the parent was done when it ended
)

// init sets the context's deadline to d after start (the request's
// arrival, or now).
func (c *deadlineCtx) init(parent context.Context, start time.Time, d time.Duration) {
	c.parent = parent
	c.own = start.Add(d)
	c.earliest = c.own
	if pd, ok := parent.Deadline(); ok && pd.Before(c.own) {
		c.earliest = pd
	}
}

// Deadline returns the earlier of the parent's deadline and Timeout's, as
// context.WithDeadline does.
func (c *deadlineCtx) Deadline() (time.Time, bool) { return c.earliest, true }

// Done derives the real context, whose channel it returns.
func (c *deadlineCtx) Done() <-chan struct{} { return c.derive().Done() }

// Err is the derived context's error; before a context is derived, nil
// while neither the parent is done nor the deadline has passed (and then
// it derives the context, so that Done and Cause agree with Err).
func (c *deadlineCtx) Err() error {
	if c.derived.Load() {
		return c.dctx.Err()
	}
	if c.parent.Err() == nil && time.Now().Before(c.own) && !c.ended.Load() {
		return nil
	}
	return c.derive().Err()
}

// Value answers from the derived context when there is one, from the
// parent otherwise. context.Cause asks for its (unexported) key, a *int,
// to find the nearest cancelCtx: when the context is done without having
// been derived (deadline passed, request ended), the context is derived
// first, so that Cause finds it and not the parent's.
func (c *deadlineCtx) Value(key any) any {
	if c.derived.Load() {
		return c.dctx.Value(key)
	}
	if _, ok := key.(*int); ok && (c.ended.Load() || !time.Now().Before(c.own)) {
		return c.derive().Value(key)
	}
	return c.parent.Value(key)
}

func (c *deadlineCtx) String() string { return "web.deadlineCtx" }

// derive returns the real context, making it on the first call.
func (c *deadlineCtx) derive() context.Context {
	if c.derived.Load() {
		return c.dctx
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.derived.Load() {
		return c.dctx
	}
	switch {
	case !c.ended.Load() && c.expiredFirst():
		// Done with DeadlineExceeded at once, as the timer of
		// context.WithDeadline would have made it.
		c.dctx, c.dcancel = context.WithDeadline(context.WithoutCancel(c.parent), c.own)
	case !c.ended.Load():
		c.dctx, c.dcancel = context.WithDeadline(c.parent, c.own)
	case c.endWith == endParent:
		// Done with the parent's error and cause.
		c.dctx, c.dcancel = context.WithCancel(c.parent)
	case c.endWith == endDeadline:
		// Done with DeadlineExceeded at once, whatever the parent did
		// since.
		c.dctx, c.dcancel = context.WithDeadline(context.WithoutCancel(c.parent), c.own)
	default:
		c.dctx, c.dcancel = context.WithCancel(context.WithoutCancel(c.parent))
		c.dcancel()
	}
	c.derived.Store(true)
	return c.dctx
}

// expiredFirst reports whether the deadline has passed and counts as what
// ended the context. When the parent is done too, which came first cannot
// be told afterwards: the deadline is taken to have, unless the parent's
// own deadline was the earlier one.
func (c *deadlineCtx) expiredFirst() bool {
	if time.Now().Before(c.own) {
		return false
	}
	return !c.earliest.Before(c.own) || c.parent.Err() == nil
}

// end cancels the context, as the cancel function of context.WithTimeout
// does when the request has been answered.
func (c *deadlineCtx) end() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.derived.Load() {
		c.dcancel()
		return
	}
	if c.ended.Load() {
		return
	}
	switch {
	case c.expiredFirst():
		c.endWith = endDeadline
	case c.parent.Err() != nil:
		c.endWith = endParent
	default:
		c.endWith = endCanceled
	}
	c.ended.Store(true)
}
