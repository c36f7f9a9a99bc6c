package storetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/store"
)

// rateLimitTests are the database rate limiter's conformance tests.
var rateLimitTests = []struct {
	name string
	fn   func(t *testing.T, d store.Driver)
}{
	{"RateTakeBurst", testRateTakeBurst},
	{"RateTakeConcurrent", testRateTakeConcurrent},
}

func testRateTakeBurst(t *testing.T, d store.Driver) {
	ctx := context.Background()
	// A slow refill (one token per hour) keeps the test free of timing.
	const rate = 1.0 / 3600
	for i := 0; i < 3; i++ {
		ok, _, err := d.RateTake(ctx, "user:default/jane", rate, 3)
		if err != nil || !ok {
			t.Fatalf("take %d: got %v, %v, want a token", i, ok, err)
		}
	}
	ok, retry, err := d.RateTake(ctx, "user:default/jane", rate, 3)
	if err != nil || ok {
		t.Fatalf("take past the burst: got %v, %v, want refused", ok, err)
	}
	if retry < 59*time.Minute || retry > time.Hour {
		t.Errorf("retry after: got %v, want about an hour", retry)
	}
	if ok, _, _ := d.RateTake(ctx, "user:default/bob", rate, 3); !ok {
		t.Error("another key's bucket is separate")
	}
	if _, _, err := d.RateTake(ctx, "x", 0, 3); err == nil {
		t.Error("zero rate: got nil error")
	}
	n, err := d.RatePrune(ctx, time.Now().Add(time.Hour))
	if err != nil || n != 2 {
		t.Errorf("RatePrune: got %d, %v, want 2", n, err)
	}
	if ok, _, _ := d.RateTake(ctx, "user:default/jane", rate, 3); !ok {
		t.Error("a pruned bucket starts full again")
	}
}

func testRateTakeConcurrent(t *testing.T, d store.Driver) {
	const burst, workers, each = 10, 4, 5
	var granted atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				ok, _, err := d.RateTake(context.Background(), "shared", 1.0/3600, burst)
				if err != nil {
					errs <- err
					return
				}
				if ok {
					granted.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("RateTake: %v", err)
	}
	if got := granted.Load(); got != burst {
		t.Errorf("granted: got %d of %d concurrent takes, want exactly the burst %d", got, workers*each, burst)
	}
}
