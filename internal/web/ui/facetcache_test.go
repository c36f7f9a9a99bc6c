package ui

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/auth"
	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/store"
)

// fakeCounter counts facets as "<caller>#<n>", n being the number of calls
// so far; while gate is non-nil each count waits for it.
type fakeCounter struct {
	calls atomic.Int32
	gate  chan struct{}
}

func (f *fakeCounter) count(ctx context.Context, _ []string, _ *catalog.Filter) (map[string][]store.FacetCount, error) {
	n := f.calls.Add(1)
	if f.gate != nil {
		<-f.gate
	}
	who := "nobody"
	if p := auth.PrincipalFrom(ctx); p != nil {
		who = p.Ref
	}
	return map[string][]store.FacetCount{"kind": {{Value: who, Count: int(n)}}}, nil
}

func as(ref string, owners ...string) context.Context {
	return auth.WithPrincipal(context.Background(), &auth.Principal{Type: auth.PrincipalUser, Ref: ref, OwnershipRefs: owners})
}

func getKind(t testing.TB, c *facetCache, ctx context.Context, f *fakeCounter) store.FacetCount {
	t.Helper()
	got, err := c.get(ctx, []string{"kind"}, nil, f.count)
	if err != nil {
		t.Fatal(err)
	}
	return got["kind"][0]
}

func TestFacetCacheKeepsCallersApart(t *testing.T) {
	c := &facetCache{max: 10, wait: time.Hour, maxStale: time.Hour, now: time.Now}
	f := &fakeCounter{}
	tests := []struct {
		name string
		ctx  context.Context
		want store.FacetCount
	}{
		{"first caller counts", as("user:default/ada", "group:default/payments"), store.FacetCount{Value: "user:default/ada", Count: 1}},
		{"same caller is cached", as("user:default/ada", "group:default/payments"), store.FacetCount{Value: "user:default/ada", Count: 1}},
		{"another caller counts", as("user:default/bob"), store.FacetCount{Value: "user:default/bob", Count: 2}},
		{"other groups count", as("user:default/ada", "group:default/platform"), store.FacetCount{Value: "user:default/ada", Count: 3}},
		{"no caller counts", context.Background(), store.FacetCount{Value: "nobody", Count: 4}},
	}
	for _, tt := range tests {
		if got := getKind(t, c, tt.ctx, f); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestFacetCacheServesStaleWhileRecounting(t *testing.T) {
	c := &facetCache{max: 10, maxStale: time.Hour, now: time.Now} // wait 0: never wait for a recount
	f := &fakeCounter{}
	ctx := as("user:default/ada")
	first := getKind(t, c, ctx, f)

	f.gate = make(chan struct{})
	c.invalidate()
	if got := getKind(t, c, ctx, f); got != first {
		t.Errorf("during the recount: got %v, want the previous %v", got, first)
	}
	close(f.gate)
	c.wait = time.Hour // join the running recount and wait for it
	want := store.FacetCount{Value: "user:default/ada", Count: 2}
	if got := getKind(t, c, ctx, f); got != want {
		t.Errorf("after the recount: got %v, want %v", got, want)
	}
	if got := f.calls.Load(); got != 2 {
		t.Errorf("counts: got %v, want 2 (views during a recount share it)", got)
	}
}

func TestFacetCacheNeverServesTooStale(t *testing.T) {
	now := time.Unix(1000, 0)
	c := &facetCache{max: 10, maxStale: time.Minute, now: func() time.Time { return now }}
	f := &fakeCounter{}
	ctx := as("user:default/ada")
	getKind(t, c, ctx, f)
	c.invalidate()
	now = now.Add(2 * time.Minute)
	want := store.FacetCount{Value: "user:default/ada", Count: 2}
	if got := getKind(t, c, ctx, f); got != want {
		t.Errorf("got %v, want the recount %v: the cached counts are older than maxStale", got, want)
	}
}
