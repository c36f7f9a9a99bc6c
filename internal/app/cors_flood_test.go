package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/internal/app/apptest"
)

// TestPreflightFloodIsRateLimitedBeforeAudit floods Atrium with CORS
// preflights from an unlisted origin: the first few are refused (403) and
// audited, the rest get 429 from the rate limit, which runs first, so the
// audit log grows by at most the burst however long the flood lasts.
func TestPreflightFloodIsRateLimitedBeforeAudit(t *testing.T) {
	const burst, flood = 5, 60
	srv := apptest.StartServer(t, `backend:
  cors:
    origin: [https://app.example.com]
atrium:
  rateLimit:
    default: { perMinute: 6, burst: 5 }
`)
	counts := map[int]int{}
	for range flood {
		req, err := http.NewRequest(http.MethodOptions, srv.BaseURL+"/api/catalog/entities", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Origin", "https://evil.example")
		req.Header.Set("Access-Control-Request-Method", "DELETE")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		counts[res.StatusCode]++
		if res.StatusCode == http.StatusTooManyRequests && res.Header.Get("Retry-After") == "" {
			t.Errorf("429 without Retry-After")
		}
	}
	if counts[http.StatusForbidden] < 1 || counts[http.StatusForbidden] > burst+1 {
		t.Errorf("refused preflights (403): got %d, want 1..%d", counts[http.StatusForbidden], burst+1)
	}
	if got, want := counts[http.StatusTooManyRequests], flood-burst-1; got < want {
		t.Errorf("rate-limited preflights (429): got %d, want at least %d (all statuses %v)", got, want, counts)
	}
	rep, err := srv.App.Audit().Verify(context.Background())
	if err != nil || !rep.OK() {
		t.Fatalf("Verify: got %+v %v", rep, err)
	}
	if rep.Checked < 1 || rep.Checked > burst+1 {
		t.Errorf("audit records after %d preflights: got %d, want 1..%d", flood, rep.Checked, burst+1)
	}
	// A listed origin's preflight from another address is not affected;
	// from the same address it shares the per-IP budget, like any
	// anonymous caller.
	req, _ := http.NewRequest(http.MethodOptions, srv.BaseURL+"/api/catalog/entities", nil)
	req.Header.Set("Origin", "https://app.example.com")
	req.Header.Set("Access-Control-Request-Method", "GET")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusTooManyRequests {
		t.Errorf("listed preflight from the flooding address: got %d, want 429", res.StatusCode)
	}
}

// TestAnonymousFloodIsRateLimitedBeforeAudit sends state changes without
// any credentials (the development user acts for them): past the burst
// they get 429 before the audit log sees them, so the log grows by at most
// the burst.
func TestAnonymousFloodIsRateLimitedBeforeAudit(t *testing.T) {
	const burst, flood = 5, 40
	srv := apptest.StartServer(t, "atrium:\n  rateLimit:\n    default: { perMinute: 6, burst: 5 }\n")
	limited := 0
	for range flood {
		res, err := http.Post(srv.BaseURL+"/api/catalog/refresh", "application/json", strings.NewReader(`{"entityRef":"component:default/none"}`))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode == http.StatusTooManyRequests {
			limited++
		}
	}
	if want := flood - burst - 1; limited < want {
		t.Errorf("rate-limited requests: got %d, want at least %d", limited, want)
	}
	rep, err := srv.App.Audit().Verify(context.Background())
	if err != nil || !rep.OK() {
		t.Fatalf("Verify: got %+v %v", rep, err)
	}
	if rep.Checked < 1 || rep.Checked > burst+1 {
		t.Errorf("audit records after %d anonymous requests: got %d, want 1..%d", flood, rep.Checked, burst+1)
	}
}
