package apptest

import (
	"testing"
	"time"
)

// WaitLimit is how long Eventually waits by default: generous, because CI
// runs on two shared cores and a condition that holds within milliseconds
// on a quiet machine can take seconds under load.
const WaitLimit = time.Minute

// Eventually polls cond every 20ms until it holds, failing the test with
// what (and the last detail cond returned) if it does not within limit
// (WaitLimit when limit is 0). For state Atrium reaches asynchronously,
// such as lists fed by change events; never for timing assertions.
func Eventually(t testing.TB, limit time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	if limit <= 0 {
		limit = WaitLimit
	}
	deadline := time.Now().Add(limit)
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: not yet %s:\n%s", limit, what, detail)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
