package main

import (
	"context"
	"encoding/json"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/bench/gen"
	"github.com/atrium-portal/atrium/internal/config"
)

func TestPercentile(t *testing.T) {
	ms := func(n ...int) []time.Duration {
		out := make([]time.Duration, len(n))
		for i, v := range n {
			out[i] = time.Duration(v) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	tests := []struct {
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{nil, 50, 0},
		{ms(7), 99, 7 * time.Millisecond},
		{ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{ms(1, 2, 3, 4), 99, 4 * time.Millisecond},
		{ms(hundred...), 99, 99 * time.Millisecond},
		{ms(hundred...), 50, 50 * time.Millisecond},
		{ms(hundred...), 100, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := percentile(tt.in, tt.p); got != tt.want {
			t.Errorf("percentile(%d items, %v): got %v, want %v", len(tt.in), tt.p, got, tt.want)
		}
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
	}{
		{args: nil},
		{args: []string{"-n", "100000", "-db", "postgres", "-out", "r.json"}},
		{args: []string{"-db", "mysql"}, wantErr: "-db must be"},
		{args: []string{"-n", "5"}, wantErr: "-n must be"},
		{args: []string{"-clients", "0"}, wantErr: "-clients must be"},
		{args: []string{"-d", "0s"}, wantErr: "-d must be"},
		{args: []string{"-per-file", "0"}, wantErr: "-per-file must be"},
		{args: []string{"-users", "200", "-d", "5m", "-think", "2s"}},
		{args: []string{"-users", "-1"}, wantErr: "-users must be"},
		{args: []string{"-users", "10", "-think", "-1s"}, wantErr: "-think must not"},
		{args: []string{"-users", "10", "-pages"}, wantErr: "-users runs its own load"},
		{args: []string{"-users", "10", "-profile", "prof"}},
		{args: []string{"-users", "10", "-profile", "prof", "-bin", "atrium"}, wantErr: "-profile builds its own binary"},
		{args: []string{"-pin", "-rate", "10000", "-floor"}},
		{args: []string{"-rate", "-5"}, wantErr: "-rate must not be negative"},
		{args: []string{"-rate", "100", "-users", "10"}, wantErr: "cannot be used with -rate"},
		{args: []string{"-pin", "-users", "10"}, wantErr: "-pin applies to the endpoints"},
	}
	for _, tt := range tests {
		_, err := parseFlags(tt.args)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("parseFlags(%q): got %v, want no error", tt.args, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("parseFlags(%q): got %v, want an error containing %q", tt.args, err, tt.wantErr)
		}
	}
}

// The configuration the harness writes must be one the server accepts.
func TestConfigYAMLLoads(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		engine, dsn string
	}{
		{engine: "sqlite"},
		{engine: "postgres", dsn: "postgres://postgres@127.0.0.1:5432/atrium_bench_x?sslmode=disable"},
	}
	for _, tt := range tests {
		p := serverParams{Dir: dir, Root: filepath.Join(dir, "catalog", "all.yaml"), Engine: tt.engine, DSN: tt.dsn, Entities: 250_000}
		cfg, err := config.LoadBytes("bench.yaml", []byte(configYAML(p, 12345)), nil)
		if err != nil {
			t.Fatalf("%s: %v\n%s", tt.engine, err, configYAML(p, 12345))
		}
		if got, want := cfg.Backend.Listen.Addr(), "127.0.0.1:12345"; got != want {
			t.Errorf("%s: listen: got %s, want %s", tt.engine, got, want)
		}
		if got := cfg.Backend.Database.Engine; got != tt.engine {
			t.Errorf("%s: engine: got %s, want %s", tt.engine, got, tt.engine)
		}
		if len(cfg.Catalog.Locations) != 1 || cfg.Catalog.Locations[0].Target != p.Root {
			t.Errorf("%s: locations: got %+v, want the root file", tt.engine, cfg.Catalog.Locations)
		}
		if cfg.Atrium.RateLimit.Enabled {
			t.Errorf("%s: rate limiting: got enabled, want disabled", tt.engine)
		}
		if cfg.Atrium.Demo {
			t.Errorf("%s: demo: got true, want false", tt.engine)
		}
		if got := cfg.Atrium.Limits.MaxEntitiesPerLocation; got < 250_000 {
			t.Errorf("%s: maxEntitiesPerLocation: got %d, want at least 250000", tt.engine, got)
		}
	}
}

func TestRunLoadCountsRequestsAndErrors(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			http.Error(w, "no", http.StatusInternalServerError)
			return
		}
		n.Add(1)
		w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	c := newClient(srv.URL, 4, 0)

	st, err := runLoad(context.Background(), loadParams{
		Client: c, Clients: 4, Duration: 100 * time.Millisecond, Seed: 1,
		Endpoint: endpoint{Name: "ok", Path: func(*rand.Rand) string { return "/ok" }},
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Requests == 0 || st.Errors != 0 || st.RPS <= 0 {
		t.Errorf("ok endpoint: got %+v, want requests, no errors and a positive rate", st)
	}
	if int64(st.Requests) > n.Load() {
		t.Errorf("got %d requests counted, server saw %d", st.Requests, n.Load())
	}
	if st.P50ms > st.P99ms || st.P99ms > st.MaxMs {
		t.Errorf("percentiles out of order: %+v", st)
	}

	st, err = runLoad(context.Background(), loadParams{
		Client: c, Clients: 2, Duration: 50 * time.Millisecond, Seed: 1,
		Endpoint: endpoint{Name: "fail", Path: func(*rand.Rand) string { return "/fail" }},
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Errors == 0 || st.Errors != st.Requests || !strings.Contains(st.FirstError, "500") {
		t.Errorf("failing endpoint: got %+v, want every request counted as an error", st)
	}
}

// fakeCatalog answers the ingestion checks from a generated set, as a
// complete catalog would, minus the relations of one entity when drop is set.
func fakeCatalog(tb testing.TB, set *gen.Set, drop string) *httptest.Server {
	tb.Helper()
	kinds := set.CountByKind()
	sources := set.SourcesByRelationType()
	rels := map[string][]map[string]string{}
	for _, r := range set.Relations() {
		if r.Source == drop {
			continue
		}
		rels[r.Source] = append(rels[r.Source], map[string]string{"type": r.Type, "targetRef": r.Target})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.backstage/health/v1/liveness", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"status":"ok"}`))
	})
	mux.HandleFunc("GET /api/catalog/entity-facets", func(w http.ResponseWriter, r *http.Request) {
		var items []map[string]any
		for k, c := range kinds {
			items = append(items, map[string]any{"value": strings.ToUpper(k[:1]) + k[1:], "count": c})
		}
		json.NewEncoder(w).Encode(map[string]any{"facets": map[string]any{"kind": items}})
	})
	mux.HandleFunc("GET /api/catalog/entities/by-query", func(w http.ResponseWriter, r *http.Request) {
		f := r.URL.Query().Get("filter")
		total := sources[strings.TrimPrefix(f, "relations.")]
		if f == "" {
			total = set.N + 1
		}
		json.NewEncoder(w).Encode(map[string]any{"items": []any{}, "totalItems": total})
	})
	mux.HandleFunc("GET /api/catalog/entities/by-name/{kind}/{ns}/{name}", func(w http.ResponseWriter, r *http.Request) {
		ref := r.PathValue("kind") + ":" + r.PathValue("ns") + "/" + r.PathValue("name")
		json.NewEncoder(w).Encode(map[string]any{"relations": rels[ref]})
	})
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	return srv
}

func TestWaitIngested(t *testing.T) {
	set, err := gen.New(500, 9, gen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	exp := expectationsOf(set, 10, 9)

	srv := fakeCatalog(t, set, "")
	ing, err := waitIngested(context.Background(), ingestParams{
		Client: newClient(srv.URL, 1, 0), Exp: exp, Start: time.Now(), Timeout: time.Minute, Poll: time.Millisecond,
	})
	if err != nil {
		t.Fatalf("complete catalog: %v", err)
	}
	if ing.Seconds < ing.CountsSeconds || ing.CountsSeconds < ing.LiveSeconds {
		t.Errorf("stages out of order: %+v", ing)
	}
	if len(ing.Stages) != 5 {
		t.Fatalf("got %d stage times, want 5: %+v", len(ing.Stages), ing.Stages)
	}
	for i, st := range ing.Stages {
		if st.Checks < 1 || st.CheckSeconds < 0 || st.CheckSeconds > st.PassedSeconds {
			t.Errorf("stage %d: got %+v, want at least one check, within the wait", i, st)
		}
		if i > 0 && st.PassedSeconds < ing.Stages[i-1].PassedSeconds {
			t.Errorf("stage %d passed at %.3fs, before stage %d at %.3fs", i, st.PassedSeconds, i-1, ing.Stages[i-1].PassedSeconds)
		}
	}
	if last := ing.Stages[len(ing.Stages)-1]; last.PassedSeconds != ing.Seconds {
		t.Errorf("last stage passed at %.3fs, ingestion reported at %.3fs; want the same", last.PassedSeconds, ing.Seconds)
	}

	// A catalog that never shows one sampled entity's relations is never
	// complete; the server's exit ends the wait with the reason.
	var sample string
	for ref, rs := range exp.samples {
		if len(rs) > 0 {
			sample = ref
			break
		}
	}
	srv = fakeCatalog(t, set, sample)
	exited := make(chan struct{})
	close(exited)
	_, err = waitIngested(context.Background(), ingestParams{
		Client: newClient(srv.URL, 1, 0), Exp: exp, Start: time.Now(), Timeout: time.Minute,
		Poll: time.Millisecond, Exited: exited,
	})
	if err == nil || !strings.Contains(err.Error(), sample) {
		t.Errorf("incomplete catalog: got %v, want an error naming %s", err, sample)
	}
}

func TestMarkdownRow(t *testing.T) {
	r := &Result{DB: "sqlite", N: 1000, Ingest: Ingest{Seconds: 1.25}, IngestCPUSeconds: 2.5, PeakRSSIngestMB: 80, PeakRSSMB: 95,
		Endpoints: []Stats{{Name: "by-name", P50ms: 0.1, P99ms: 0.5, RPS: 12000}}}
	got := r.MarkdownRow()
	want := "| sqlite | 1000 | 1.2 | 2.5 | 80 / 95 | 0.10 / 0.50 | 12000 | – | – | – | – | – | – |"
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if cols, hdr := strings.Count(got, "|"), strings.Count(strings.SplitN(markdownHeader(), "\n", 2)[0], "|"); cols != hdr {
		t.Errorf("row has %d separators, header %d", cols, hdr)
	}
}

func TestProcStatusKB(t *testing.T) {
	kb, err := procStatusKB(os.Getpid(), "VmHWM")
	if err != nil {
		t.Skipf("no /proc on this system: %v", err)
	}
	if kb <= 0 {
		t.Errorf("VmHWM of this process: got %d kB, want > 0", kb)
	}
	if _, err := procStatusKB(os.Getpid(), "NoSuchKey"); err == nil {
		t.Error("unknown key: got nil error, want one")
	}
}

func TestCheckSources(t *testing.T) {
	want := map[string]int{"dependson": 3, "haspart": 0, "ownedby": 7, "partof": 2, "providesapi": 1}
	var inFlight, most atomic.Int32
	serve := func(got map[string]int) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := inFlight.Add(1)
			defer inFlight.Add(-1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			time.Sleep(5 * time.Millisecond) // let the requests overlap
			typ := strings.TrimPrefix(r.URL.Query().Get("filter"), "relations.")
			json.NewEncoder(w).Encode(map[string]any{"items": []any{}, "totalItems": got[typ]})
		}))
		t.Cleanup(srv.Close)
		return srv
	}

	srv := serve(want)
	if err := checkSources(context.Background(), newClient(srv.URL, sourceChecksInFlight, 0), want); err != nil {
		t.Errorf("complete counts: got %v, want nil", err)
	}
	if m := most.Load(); m > sourceChecksInFlight {
		t.Errorf("got %d requests in flight at once, want at most %d", m, sourceChecksInFlight)
	}

	// Two types short: the error names the first in the types' order,
	// whichever request ended first.
	short := maps.Clone(want)
	short["ownedby"]--
	short["providesapi"]--
	srv = serve(short)
	err := checkSources(context.Background(), newClient(srv.URL, sourceChecksInFlight, 0), want)
	if err == nil || !strings.Contains(err.Error(), "relations.ownedby: got 6 entities, want 7") {
		t.Errorf("short counts: got %v, want the ownedby mismatch", err)
	}
}
