package main

import (
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/atrium-portal/atrium/bench/gen"
	"github.com/atrium-portal/atrium/internal/config"
)

// The uncached phase's server differs from the first only in its answer
// cache, which is off; the entity cache keeps its defaults.
func TestConfigYAMLNoAnswerCache(t *testing.T) {
	dir := t.TempDir()
	load := func(off bool) config.Cache {
		t.Helper()
		p := serverParams{Dir: dir, Root: filepath.Join(dir, "catalog", "all.yaml"), Engine: "sqlite", Entities: 1000, NoAnswerCache: off}
		cfg, err := config.LoadBytes("bench.yaml", []byte(configYAML(p, 12345)), nil)
		if err != nil {
			t.Fatalf("NoAnswerCache %v: %v\n%s", off, err, configYAML(p, 12345))
		}
		return cfg.Atrium.Cache
	}
	on, off := load(false), load(true)
	if on.Answers == 0 || on.Entities == 0 || on.MaxAge == 0 {
		t.Fatalf("default cache: got %+v, want the answer and entity caches on", on)
	}
	want := on
	want.Answers = 0
	if off != want {
		t.Errorf("cache with NoAnswerCache: got %+v, want %+v", off, want)
	}
}

func TestServerFileNames(t *testing.T) {
	tests := []struct {
		name, base, ext, want string
	}{
		{"", "server", ".log", "server.log"},
		{"uncached", "server", ".log", "server-uncached.log"},
		{"uncached", "app-config", ".yaml", "app-config-uncached.yaml"},
	}
	for _, tt := range tests {
		if got := (serverParams{Name: tt.name}).fileName(tt.base, tt.ext); got != tt.want {
			t.Errorf("fileName(%q, %q) named %q: got %s, want %s", tt.base, tt.ext, tt.name, got, tt.want)
		}
	}
}

// The uncached endpoint asks what by-query asks, in the same order for a
// seed, under its own name.
func TestUncachedEndpointIsByQuery(t *testing.T) {
	set, err := gen.New(1000, 1, gen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ep, err := uncachedEndpoint(set)
	if err != nil {
		t.Fatal(err)
	}
	if ep.Name != uncachedName {
		t.Errorf("name: got %q, want %q", ep.Name, uncachedName)
	}
	var byQuery endpoint
	for _, e := range endpoints(set) {
		if e.Name == "by-query" {
			byQuery = e
		}
	}
	a, b := rand.New(rand.NewPCG(7, 1)), rand.New(rand.NewPCG(7, 1))
	for range 20 {
		if got, want := ep.Path(a), byQuery.Path(b); got != want {
			t.Fatalf("path: got %s, want %s", got, want)
		}
	}
}

// The uncached phase runs unless -uncached=false.
func TestParseFlagsUncached(t *testing.T) {
	tests := []struct {
		args []string
		want bool
	}{
		{nil, true},
		{[]string{"-uncached=false"}, false},
		{[]string{"-uncached", "-n", "100000"}, true},
	}
	for _, tt := range tests {
		o, err := parseFlags(tt.args)
		if err != nil {
			t.Fatalf("parseFlags(%q): %v", tt.args, err)
		}
		if o.Uncached != tt.want {
			t.Errorf("parseFlags(%q): Uncached: got %v, want %v", tt.args, o.Uncached, tt.want)
		}
	}
}
