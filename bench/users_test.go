package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/bench/gen"
)

// fakePortal answers the requests of a catalog page and an entity page
// with fixed rows, records what it was asked, and the most requests it
// served at once; byName answers GET by-name with that status.
type fakePortal struct {
	mu      sync.Mutex
	paths   map[string]int
	refs    [][]string
	now     int
	maxNow  int
	byName  int
	started chan struct{}
}

func (f *fakePortal) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.now++
	f.maxNow = max(f.maxNow, f.now)
	f.paths[r.Method+" "+r.URL.Path]++
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.now--
		f.mu.Unlock()
	}()
	time.Sleep(20 * time.Millisecond) // long enough for the parallel requests to overlap
	switch {
	case strings.HasSuffix(r.URL.Path, "/by-refs"):
		var body struct {
			EntityRefs []string `json:"entityRefs"`
		}
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.refs = append(f.refs, body.EntityRefs)
		f.mu.Unlock()
		w.Write([]byte(`{"items":[]}`))
	case strings.Contains(r.URL.Path, "/by-name/"):
		if f.byName != http.StatusOK {
			http.Error(w, `{"error":{}}`, f.byName)
			return
		}
		w.Write([]byte(`{"kind":"Component","relations":[{"type":"ownedBy","targetRef":"group:default/t1"},{"type":"dependsOn","targetRef":"resource:default/db"}]}`))
	case strings.HasSuffix(r.URL.Path, "/by-query") && r.URL.Query().Get("limit") == "20":
		w.Write([]byte(`{"items":[
			{"kind":"Component","metadata":{"name":"a","namespace":"default"},"relations":[{"type":"ownedBy","targetRef":"group:default/t1"},{"type":"partOf","targetRef":"system:default/s1"},{"type":"dependsOn","targetRef":"resource:default/db"}]},
			{"kind":"Component","metadata":{"name":"b","namespace":"default"},"relations":[{"type":"ownedBy","targetRef":"group:default/t1"}]}]}`))
	default:
		w.Write([]byte(`{"items":[],"totalItems":2,"facets":{}}`))
	}
}

func runFake(t *testing.T, byName int) (*fakePortal, *UsersResult) {
	t.Helper()
	set, err := gen.New(200, 1, gen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakePortal{paths: map[string]int{}, byName: byName}
	srv := httptest.NewServer(f)
	defer srv.Close()
	res, err := runUsers(context.Background(), usersParams{
		Base: srv.URL, Set: set, Users: 1, Duration: 300 * time.Millisecond,
		Think: time.Millisecond, ReqTimeout: 10 * time.Second, Seed: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	return f, res
}

// TestRunUsers: a user's catalog page sends its six requests at once, then
// one by-refs of the listed rows' owners and systems (not their other
// relations); the entity page asks by name, then by-refs of the entity's
// relations; every kind is counted, without errors.
func TestRunUsers(t *testing.T) {
	f, res := runFake(t, http.StatusOK)
	if f.maxNow < 2 || f.maxNow > browserConns {
		t.Errorf("requests at once: got %d, want between 2 and %d (one browser)", f.maxNow, browserConns)
	}
	pages := f.paths["GET /api/catalog/entities/by-name/component/default/a"] + f.paths["GET /api/catalog/entities/by-name/component/default/b"]
	if pages == 0 || f.paths["GET /api/catalog/entity-facets"] < 3*pages || f.paths["POST /api/catalog/entities/by-refs"] < 2*pages {
		t.Errorf("requests: got %v for %d entity pages", f.paths, pages)
	}
	rowRefs := []string{"group:default/t1", "system:default/s1"}
	if !slices.ContainsFunc(f.refs, func(r []string) bool { return slices.Equal(r, rowRefs) }) {
		t.Errorf("by-refs bodies: got %v, want one of the rows' owners and systems %v", f.refs, rowRefs)
	}
	if res.Requests.Errors != 0 || res.Requests.Count == 0 || res.Requests.P50ms < 20 {
		t.Errorf("all requests: got %+v, want some, no errors, p50 ≥ 20 ms", res.Requests)
	}
	for _, k := range res.Kinds {
		if k.Count == 0 || k.Errors != 0 {
			t.Errorf("%s: got %+v, want requests and no errors", k.Name, k)
		}
	}
	for _, p := range res.Pages {
		if p.Count == 0 || p.P50ms < 20 {
			t.Errorf("%s: got %+v, want pages of at least one request's time", p.Name, p)
		}
	}
}

// TestRunUsersCountsErrors: answers other than 200 are counted as status
// errors, under their request kind and their page.
func TestRunUsersCountsErrors(t *testing.T) {
	_, res := runFake(t, http.StatusServiceUnavailable)
	if res.ErrorsByKind["status"] == 0 || res.ErrorsByKind["timeout"] != 0 || res.ErrorsByKind["connection"] != 0 {
		t.Errorf("errors by kind: got %v, want status errors only", res.ErrorsByKind)
	}
	if !strings.Contains(res.FirstErrors["status"], "status 503") {
		t.Errorf("first status error: got %q", res.FirstErrors["status"])
	}
	for _, k := range res.Kinds {
		if k.Name == reqByName && k.Errors != k.Count {
			t.Errorf("%s: got %+v, want every request an error", k.Name, k)
		}
	}
	for _, p := range res.Pages {
		if p.Name == pageEntity && (p.Errors == 0 || p.Errors != p.Count) {
			t.Errorf("%s: got %+v, want every page failed", p.Name, p)
		}
	}
}

// fakeShim stands in for the profiling shim: it records the commands it
// got and what the portal had served when each came.
type fakeShim struct {
	mu     sync.Mutex
	portal *fakePortal
	calls  []string
	served []int
}

func (s *fakeShim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.portal.mu.Lock()
	n := 0
	for _, c := range s.portal.paths {
		n += c
	}
	s.portal.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, r.Method+" "+r.URL.Path+" "+r.URL.Query().Get("file"))
	s.served = append(s.served, n)
}

// TestRunUsersProfiles: with a profiler, the server's CPU profile starts
// once, after the warm-up's requests, into users.cpu.pprof in the
// profile folder, and stops once at the end.
func TestRunUsersProfiles(t *testing.T) {
	set, err := gen.New(200, 1, gen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakePortal{paths: map[string]int{}, byName: http.StatusOK}
	srv := httptest.NewServer(f)
	defer srv.Close()
	shim := &fakeShim{portal: f}
	shimSrv := httptest.NewServer(shim)
	defer shimSrv.Close()
	dir := t.TempDir()
	prof := &profiler{dir: dir, addr: strings.TrimPrefix(shimSrv.URL, "http://")}
	_, err = runUsers(context.Background(), usersParams{
		Base: srv.URL, Set: set, Users: 1, Duration: 300 * time.Millisecond, Warmup: 200 * time.Millisecond,
		Think: time.Millisecond, ReqTimeout: 10 * time.Second, Seed: 1, Profiler: prof,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"POST /cpu/start " + filepath.Join(dir, usersProfile), "POST /cpu/stop "}
	if !slices.Equal(shim.calls, want) {
		t.Fatalf("shim commands: got %q, want %q", shim.calls, want)
	}
	if shim.served[0] == 0 || shim.served[1] <= shim.served[0] {
		t.Errorf("requests served at start / stop: got %v, want some during the warm-up and more after the start", shim.served)
	}
}
