package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"time"
)

// Retry bounds how an action retries transient failures of the system it
// follows (see Transient): exponential backoff with jitter, a Retry-After
// the system asked for honoured, at most Attempts retries.
type Retry struct {
	// Attempts bounds the retries after the first failure (0: 5; < 0:
	// none).
	Attempts int
	// Initial is the first wait (0: 1s); each next doubles up to Max
	// (0: 1m), ±20% jitter. A longer Retry-After wins, up to Max.
	Initial, Max time.Duration
	// Classify judges an error for clients whose errors do not implement
	// HTTPStatusError (nil: Transient).
	Classify func(error) (transient bool, retryAfter time.Duration)
}

func (r Retry) attempts() int {
	switch {
	case r.Attempts < 0:
		return 0
	case r.Attempts == 0:
		return 5
	}
	return r.Attempts
}

// Backoff is the wait before retry number attempt (from 1), given the
// wait the system asked for (0 when none).
func (r Retry) Backoff(attempt int, asked time.Duration) time.Duration {
	initial, maxWait := r.Initial, r.Max
	if initial <= 0 {
		initial = time.Second
	}
	if maxWait <= 0 {
		maxWait = time.Minute
	}
	d := initial
	for i := 1; i < attempt && d < maxWait; i++ {
		d *= 2
	}
	d = time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
	return min(max(d, asked), maxWait)
}

// HTTPStatusError is implemented by integration clients' errors that carry
// an HTTP answer, so Transient can judge them.
type HTTPStatusError interface {
	error
	// HTTPStatus is the answer's status code.
	HTTPStatus() int
	// RetryAfterHint is the wait the answer asked for (Retry-After), 0
	// when none.
	RetryAfterHint() time.Duration
}

// Transient reports whether err is worth retrying — a 5xx, 408 or 429
// answer, a timeout, a broken or refused connection — and the wait the
// system asked for. Any other 4xx answer is the caller's to fix: not
// transient.
func Transient(err error) (bool, time.Duration) {
	if err == nil || errors.Is(err, context.Canceled) {
		return false, 0
	}
	var he HTTPStatusError
	if errors.As(err, &he) {
		s := he.HTTPStatus()
		return s >= 500 || s == 408 || s == 429, he.RetryAfterHint()
	}
	var ne net.Error
	var oe *net.OpError
	switch {
	case errors.As(err, &ne) && ne.Timeout(), errors.As(err, &oe), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, context.DeadlineExceeded):
		return true, 0
	}
	return false, 0
}

// Retry runs fn, and again after a transient failure (Transient) until it
// succeeds, fails otherwise, r.Attempts retries are spent or ctx ends.
// Between tries the operation is waiting-retry with its attempts, the
// time of the next try and the failure as its last error; then running
// again. The error after the last retry says how many were made.
func (s StepOperation) Retry(ctx context.Context, r Retry, fn func(ctx context.Context) error) error {
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil || ctx.Err() != nil {
			return err
		}
		classify := r.Classify
		if classify == nil {
			classify = Transient
		}
		ok, asked := classify(err)
		if !ok {
			return err
		}
		if attempt > r.attempts() {
			return &Error{Kind: ErrUnavailable, Err: err, Message: fmt.Sprintf("%s failed %d times in a row, the last time: %v; check that it is up, then retry the task",
				s.Start.System, attempt, err)}
		}
		wait := r.Backoff(attempt, asked)
		s.mark(ctx, OperationUpdate{State: OperationWaitingRetry, Attempts: attempt, NextAttemptAt: time.Now().Add(wait),
			Error: &OperationError{System: s.Start.System, Answer: err.Error(), Action: fmt.Sprintf("Atrium tries again in %s (retry %d of %d)", wait.Round(time.Millisecond), attempt, r.attempts())}})
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		s.mark(ctx, OperationUpdate{State: OperationRunning})
	}
}

// mark updates the step's operation, if there is one.
func (s StepOperation) mark(ctx context.Context, u OperationUpdate) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if op, _, ok := s.begin(ctx); ok {
		_, _ = s.Req.Operations.Update(ctx, op.ID, u)
	}
}
