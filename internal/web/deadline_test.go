package web

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

type ctxTestKey struct{}

var errParentCause = errors.New("parent's cause")

// timeoutCtx returns a context with timeout d under parent and its end
// function: the lazy one, or, for comparison, context.WithTimeout.
type timeoutCtx func(parent context.Context, d time.Duration) (context.Context, func())

func lazyTimeout(parent context.Context, d time.Duration) (context.Context, func()) {
	c := new(deadlineCtx)
	c.init(parent, time.Now(), d)
	return c, c.end
}

func stdTimeout(parent context.Context, d time.Duration) (context.Context, func()) {
	return context.WithTimeout(parent, d)
}

// TestDeadlineCtxMatchesWithTimeout runs the same steps on a deadlineCtx and
// on context.WithTimeout and checks that Err, Cause, Done and Value agree
// after each step.
func TestDeadlineCtxMatchesWithTimeout(t *testing.T) {
	const long, expired = time.Hour, -time.Second
	tests := []struct {
		name string
		d    time.Duration
		// steps run in order; "done" asks for Done, "end" ends the
		// request, "cancel" cancels the parent with errParentCause,
		// "child" derives a child context (checked at the end).
		steps []string
	}{
		{"running", long, nil},
		{"running, Done asked", long, []string{"done"}},
		{"ended", long, []string{"end"}},
		{"ended, then Done", long, []string{"end", "done"}},
		{"Done, then ended", long, []string{"done", "end"}},
		{"ended, then parent cancelled", long, []string{"end", "cancel"}},
		{"ended, then parent cancelled, then Done", long, []string{"end", "cancel", "done"}},
		{"parent cancelled", long, []string{"cancel"}},
		{"parent cancelled, then Done", long, []string{"cancel", "done"}},
		{"parent cancelled, then ended", long, []string{"cancel", "end"}},
		{"Done, then parent cancelled", long, []string{"done", "cancel"}},
		{"expired", expired, nil},
		{"expired, Done", expired, []string{"done"}},
		{"expired, ended", expired, []string{"end"}},
		{"expired, ended, then parent cancelled", expired, []string{"end", "cancel"}},
		{"expired, parent cancelled", expired, []string{"cancel"}},
		{"child, then ended", long, []string{"child", "end"}},
		{"child, then parent cancelled", long, []string{"child", "cancel"}},
		{"ended, then child", long, []string{"end", "child"}},
		{"expired, child", expired, []string{"child"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			type outcome struct {
				err, cause, childErr, childCause error
				done, childDone                  bool
				value                            any
			}
			run := func(mk timeoutCtx) outcome {
				parent, cancel := context.WithCancelCause(context.WithValue(context.Background(), ctxTestKey{}, "v"))
				defer cancel(nil)
				ctx, end := mk(parent, tc.d)
				var child context.Context
				var cancels []context.CancelFunc
				defer func() {
					for _, c := range cancels {
						c()
					}
				}()
				for _, step := range tc.steps {
					switch step {
					case "done":
						ctx.Done()
					case "end":
						end()
					case "cancel":
						cancel(errParentCause)
					case "child":
						c, cancel := context.WithCancel(ctx)
						child, cancels = c, append(cancels, cancel)
					}
				}
				var o outcome
				// Err first: it must agree with Cause and Done, whichever
				// is asked first.
				o.err = ctx.Err()
				o.cause = context.Cause(ctx)
				select {
				case <-ctx.Done():
					o.done = true
				default:
				}
				if child != nil {
					if o.done {
						<-child.Done() // cancellation reaches children at once, or a timer's moment later
					}
					o.childErr, o.childCause = child.Err(), context.Cause(child)
					select {
					case <-child.Done():
						o.childDone = true
					default:
					}
				}
				o.value = ctx.Value(ctxTestKey{})
				end()
				return o
			}
			got, want := run(lazyTimeout), run(stdTimeout)
			if got != want {
				t.Errorf("got %+v, want %+v", got, want)
			}
		})
	}
}

// TestDeadlineCtxCausesBeforeErr checks Cause asked first, before Err or
// Done, on a context whose deadline has passed or whose request ended.
func TestDeadlineCtxCausesBeforeErr(t *testing.T) {
	for _, tc := range []struct {
		name  string
		d     time.Duration
		end   bool
		cause error
	}{
		{"expired", -time.Second, false, context.DeadlineExceeded},
		{"ended", time.Hour, true, context.Canceled},
		{"running", time.Hour, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, end := lazyTimeout(context.Background(), tc.d)
			defer end()
			if tc.end {
				end()
			}
			if got := context.Cause(ctx); got != tc.cause {
				t.Errorf("got %v, want %v", got, tc.cause)
			}
			if got := ctx.Err(); got != tc.cause {
				t.Errorf("Err: got %v, want %v", got, tc.cause)
			}
		})
	}
}

// TestDeadlineCtxFires checks that a deadline reached while someone waits
// closes Done and cancels children with DeadlineExceeded.
func TestDeadlineCtxFires(t *testing.T) {
	ctx, end := lazyTimeout(context.Background(), 20*time.Millisecond)
	defer end()
	child, cancel := context.WithCancel(ctx)
	defer cancel()
	ran := make(chan struct{})
	stop := context.AfterFunc(ctx, func() { close(ran) })
	defer stop()
	<-child.Done()
	<-ran
	if got := ctx.Err(); got != context.DeadlineExceeded {
		t.Errorf("got %v, want %v", got, context.DeadlineExceeded)
	}
	if got := context.Cause(child); got != context.DeadlineExceeded {
		t.Errorf("child's cause: got %v, want %v", got, context.DeadlineExceeded)
	}
}

// TestDeadlineCtxDeadline checks Deadline: Timeout's, or the parent's when
// that is earlier.
func TestDeadlineCtxDeadline(t *testing.T) {
	early, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pd, _ := early.Deadline()
	ctx, end := lazyTimeout(early, time.Hour)
	defer end()
	if got, ok := ctx.Deadline(); !ok || !got.Equal(pd) {
		t.Errorf("got %v, %v, want %v, true", got, ok, pd)
	}
	before := time.Now()
	ctx, end = lazyTimeout(context.Background(), time.Minute)
	defer end()
	if got, ok := ctx.Deadline(); !ok || got.Before(before.Add(time.Minute)) || got.After(time.Now().Add(time.Minute)) {
		t.Errorf("got %v, %v, want about %v from now", got, ok, time.Minute)
	}
}

// TestDeadlineCtxConcurrent uses one context from several goroutines while
// the request ends (run with -race).
func TestDeadlineCtxConcurrent(t *testing.T) {
	for range 50 {
		ctx, end := lazyTimeout(context.Background(), time.Hour)
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Go(func() {
				switch i {
				case 0:
					<-ctx.Done()
				case 1:
					for ctx.Err() == nil {
					}
				case 2:
					child, cancel := context.WithCancel(ctx)
					<-child.Done()
					cancel()
				default:
					_ = context.Cause(ctx)
				}
			})
		}
		end()
		wg.Wait()
		if got := ctx.Err(); got != context.Canceled {
			t.Fatalf("got %v, want %v", got, context.Canceled)
		}
	}
}

// TestTimeoutMiddleware checks what a handler under Timeout sees, with and
// without the request state: a deadline, a context that is not done while
// it runs and is cancelled once it has returned, and the request's values.
func TestTimeoutMiddleware(t *testing.T) {
	for _, withID := range []bool{true, false} {
		var seen context.Context
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			seen = r.Context()
			if _, ok := seen.Deadline(); !ok {
				t.Error("no deadline")
			}
			if err := seen.Err(); err != nil {
				t.Errorf("got %v while the handler runs, want nil", err)
			}
			if withID && RequestID(seen) == "" {
				t.Error("no request id under Timeout")
			}
		})
		mw := []Middleware{Timeout(time.Minute), Timeout(time.Hour)} // twice: the second cannot use the state's
		if withID {
			mw = append([]Middleware{WithRequestID(nil)}, mw...)
		}
		Chain(h, mw...).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
		if got := seen.Err(); got != context.Canceled {
			t.Errorf("after the handler: got %v, want %v", got, context.Canceled)
		}
		select {
		case <-seen.Done():
		default:
			t.Error("Done not closed after the handler")
		}
		if d, _ := seen.Deadline(); time.Until(d) > time.Minute {
			t.Errorf("deadline %v from now, want the outer Timeout's minute at most", time.Until(d))
		}
	}
}

// TestDeadlineCtxDerivesOnDone checks that Err, Value and Deadline leave the
// context underived (no timer, no children registered with the parent) and
// that Done derives it.
func TestDeadlineCtxDerivesOnDone(t *testing.T) {
	ctx, end := lazyTimeout(context.WithValue(context.Background(), ctxTestKey{}, "v"), time.Hour)
	defer end()
	c := ctx.(*deadlineCtx)
	_, _ = ctx.Err(), ctx.Value(ctxTestKey{})
	_, _ = ctx.Deadline()
	_ = context.Cause(ctx)
	if c.derived.Load() {
		t.Error("derived before anyone asked for Done")
	}
	ctx.Done()
	if !c.derived.Load() {
		t.Error("not derived after Done")
	}
}
