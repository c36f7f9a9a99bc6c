package heavy_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/heavy"
)

func TestAcquire(t *testing.T) {
	l := heavy.New(map[string]heavy.Bound{
		"slow":    {Concurrency: 1, Queue: 1, MaxWait: 50 * time.Millisecond},
		"nowait":  {Concurrency: 1},
		"default": {},
	})
	ctx := context.Background()

	release, err := l.Acquire(ctx, "slow")
	if err != nil {
		t.Fatalf("first acquire: %v", err)
	}
	start := time.Now()
	_, err = l.Acquire(ctx, "slow")
	if !fault.Is(err, fault.Unavailable) {
		t.Fatalf("acquire past maxWait: got %v, want Unavailable", err)
	}
	if waited := time.Since(start); waited < 50*time.Millisecond {
		t.Errorf("acquire past maxWait returned after %v, want at least 50ms", waited)
	}
	if d, ok := heavy.RetryAfter(err); !ok || d != time.Second {
		t.Errorf("RetryAfter: got %v %v, want 1s (at least a second)", d, ok)
	}

	// A waiter is admitted when the slot is given back.
	got := make(chan error, 1)
	go func() {
		r, err := l.Acquire(ctx, "slow")
		if err == nil {
			r()
		}
		got <- err
	}()
	time.Sleep(10 * time.Millisecond)
	release()
	if err := <-got; err != nil {
		t.Errorf("queued acquire after release: %v", err)
	}

	r1, err := l.Acquire(ctx, "nowait")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Acquire(ctx, "nowait"); !fault.Is(err, fault.Unavailable) {
		t.Errorf("no queue: got %v, want Unavailable at once", err)
	}
	r1()

	// A cancelled caller stops waiting with its context's error.
	r2, _ := l.Acquire(ctx, "slow")
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := l.Acquire(cctx, "slow"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled wait: got %v, want context.Canceled", err)
	}
	r2()

	// Kinds without a bound are not limited; Concurrency 0 means 1.
	for range 3 {
		if _, err := l.Acquire(ctx, "unknown"); err != nil {
			t.Errorf("unbounded kind: %v", err)
		}
	}
	rd, _ := l.Acquire(ctx, "default")
	if _, err := l.Acquire(ctx, "default"); err == nil {
		t.Error("default bound: a second acquire was admitted, want one at a time")
	}
	rd()

	st := l.Stats()
	if s := st["slow"]; s.Refused != 1 || s.Running != 0 || s.Waiting != 0 {
		t.Errorf("stats of slow: got %+v, want 1 refused, none running or waiting", s)
	}
}
