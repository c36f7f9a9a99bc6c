package faults

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/bench/gen"
)

// TestKillDuringIngestion: atrium is killed with SIGKILL while it ingests
// a generated catalog of 4000 entities; started again on the same
// database, it finishes, and every generated entity is there exactly once
// (the count per kind equals the generator's, and no ref is listed twice).
func TestKillDuringIngestion(t *testing.T) {
	const n = 4000
	dir := t.TempDir()
	set, err := gen.New(n, 42, gen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	catalogDir := filepath.Join(dir, "catalog")
	if err := set.WriteDir(catalogDir); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	cfg := writeConfig(t, dir, port, fmt.Sprintf(`catalog:
  processingInterval: false
  locations:
    - { type: file, target: %q }
  rules:
    - allow: [Component, API, Resource, System, Domain, Group, User, Location, Template]
`, filepath.Join(catalogDir, gen.RootFile)))
	dbPath := filepath.Join(dir, "atrium.db")

	first := start(t, cfg, port, "first.log", nil)
	deadline := time.Now().Add(30 * time.Second)
	seen := 0
	for time.Now().Before(deadline) && !first.exited() {
		if seen = countRows(t, dbPath); seen > 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if seen <= 0 {
		t.Fatalf("no entity written within 30 s; log:\n%s", first.tail())
	}
	first.kill()
	after := countRows(t, dbPath)
	t.Logf("killed with %d of %d entities written (%d seen before the kill)", after, n+1, seen)
	if after >= n+1 {
		t.Log("ingestion had finished before the kill; the restart still must not duplicate anything")
	}

	second := start(t, cfg, port, "second.log", nil)
	second.ready(30 * time.Second)
	want := set.CountByKind()
	var got map[string]int
	deadline = time.Now().Add(40 * time.Second)
	for {
		got, err = second.kinds()
		if err == nil && sameCounts(got, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("entities by kind after the restart: got %v (%v), want %v", got, err, want)
		}
		time.Sleep(200 * time.Millisecond)
	}

	status, body := second.call("GET", "/api/catalog/entities?fields=kind,metadata.namespace,metadata.name", "")
	if status != 200 {
		t.Fatalf("GET /entities: %d %s", status, body)
	}
	var all []struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Namespace string `json:"namespace"`
			Name      string `json:"name"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(body, &all); err != nil {
		t.Fatal(err)
	}
	refs := map[string]int{}
	for _, e := range all {
		refs[strings.ToLower(e.Kind)+":"+e.Metadata.Namespace+"/"+e.Metadata.Name]++
	}
	for ref, c := range refs {
		if c > 1 {
			t.Errorf("%s listed %d times", ref, c)
		}
	}
	for _, e := range set.Entities {
		if refs[e.Ref()] != 1 {
			t.Errorf("%s: listed %d times, want once", e.Ref(), refs[e.Ref()])
			break
		}
	}
	if rows := countRows(t, dbPath); rows != len(all) {
		t.Errorf("rows in the database: got %d, want %d (as listed)", rows, len(all))
	}
}

// sameCounts compares the counts per kind; the static location's own
// Location entities (one per configured location) come on top of the
// generator's.
func sameCounts(got, want map[string]int) bool {
	for k, w := range want {
		if k == "location" {
			if got[k] < w {
				return false
			}
			continue
		}
		if got[k] != w {
			return false
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			return false
		}
	}
	return true
}
