package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/app/apptest"
)

// TestHeavyIngestionLimit: with atrium.limits.heavy.ingestion at one
// running and one waiting, a third POST /locations while a slow location
// (a URL that answers only when the test lets it) holds the slot is
// answered at once with 503, Retry-After and Backstage's error body; the
// other two finish once the source answers, and a later one is admitted.
func TestHeavyIngestionLimit(t *testing.T) {
	entered := make(chan string, 8)
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- r.URL.Path
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		name := strings.TrimSuffix(filepath.Base(r.URL.Path), ".yaml")
		fmt.Fprintf(w, "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: { name: %s }\nspec: { type: service, lifecycle: production, owner: team-a }\n", name)
	}))
	defer slow.Close()
	var releaseOnce sync.Once
	letGo := func() { releaseOnce.Do(func() { close(release) }) }
	defer letGo()

	srv := apptest.StartServer(t, `backend:
  reading:
    allow: [{ host: 127.0.0.1 }]
atrium:
  allowedLocationTypes: [file, url]
  limits:
    heavy:
      ingestion: { concurrency: 1, queue: 1, maxWait: 20s }
`)
	c := client{t: t, base: srv.BaseURL}
	post := func(name string) (int, http.Header, []byte) {
		return c.do("POST", "/api/catalog/locations", fmt.Sprintf(`{"type":"url","target":"%s/%s.yaml"}`, slow.URL, name))
	}
	type answer struct {
		status int
		body   []byte
	}
	answers := make(chan answer, 2)
	go func() { s, _, b := post("first"); answers <- answer{s, b} }()
	select {
	case <-entered:
	case <-time.After(time.Minute):
		t.Fatal("the first location was never read")
	}
	go func() { s, _, b := post("second"); answers <- answer{s, b} }()
	waitFor(t, 10*time.Second, "the second POST /locations queued", func() bool {
		_, fams := scrape(t, srv.BaseURL+"/metrics", "")
		v, _ := fams["atrium_heavy_operations_waiting"].find(map[string]string{"kind": "ingestion"})
		return v == 1
	})

	status, header, body := post("third")
	if status != 503 {
		t.Fatalf("third POST /locations: got %d, want 503: %s", status, body)
	}
	if got := header.Get("Retry-After"); got != "20" {
		t.Errorf("Retry-After: got %q, want \"20\"", got)
	}
	var eb struct {
		Error struct {
			Name    string `json:"name"`
			Message string `json:"message"`
		} `json:"error"`
		Response struct {
			StatusCode int `json:"statusCode"`
		} `json:"response"`
	}
	if err := json.Unmarshal(body, &eb); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
	if eb.Error.Name != "ServiceUnavailableError" || eb.Response.StatusCode != 503 ||
		!strings.Contains(eb.Error.Message, "atrium.limits.heavy.ingestion") {
		t.Errorf("error body: got %s, want ServiceUnavailableError naming atrium.limits.heavy.ingestion", body)
	}

	letGo()
	for range 2 {
		select {
		case a := <-answers:
			if a.status != 201 {
				t.Errorf("a queued POST /locations: got %d, want 201: %s", a.status, a.body)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the running and the queued POST /locations did not finish")
		}
	}
	if status, _, body := post("fourth"); status != 201 {
		t.Errorf("POST /locations after the others finished: got %d, want 201: %s", status, body)
	}
	_, fams := scrape(t, srv.BaseURL+"/metrics", "")
	if v, _ := fams["atrium_heavy_operations_refused_total"].find(map[string]string{"kind": "ingestion"}); v != 1 {
		t.Errorf("atrium_heavy_operations_refused_total{kind=ingestion}: got %v, want 1", v)
	}
}

// TestCatalogGlobalLimit: atrium.limits.maxEntities refuses entities beyond
// it; the Location that emitted them says so in its status, the catalog
// stays at the limit (plus that Location, which carries the error), and
// atrium_catalog_limit_ratio reports entities / limit.
func TestCatalogGlobalLimit(t *testing.T) {
	dir := t.TempDir()
	var docs []string
	for i := range 8 {
		docs = append(docs, fmt.Sprintf("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: { name: c%d }\nspec: { type: service, lifecycle: production, owner: team-a }\n", i))
	}
	target := filepath.Join(dir, "many.yaml")
	if err := os.WriteFile(target, []byte(strings.Join(docs, "---\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := apptest.StartServer(t, `atrium:
  allowedLocationTypes: [file, url]
  metrics: { refreshInterval: 1ms }
  limits: { maxEntities: 5 }
`)
	c := client{t: t, base: srv.BaseURL}
	c.json("POST", "/api/catalog/locations", fmt.Sprintf(`{"type":"file","target":%q}`, target), 201, nil)

	var all []struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Status struct {
			Items []struct {
				Type    string `json:"type"`
				Level   string `json:"level"`
				Message string `json:"message"`
			} `json:"items"`
		} `json:"status"`
	}
	c.json("GET", "/api/catalog/entities", "", 200, &all)
	components := 0
	for _, e := range all {
		if e.Kind == "Component" {
			components++
		}
	}
	if components != 5 || len(all) != 6 {
		t.Errorf("entities: got %d components of %d, want 5 (the limit) and the Location", components, len(all))
	}
	var msgs []string
	for _, e := range all {
		for _, it := range e.Status.Items {
			msgs = append(msgs, e.Kind+":"+e.Metadata.Name+": "+it.Message)
		}
	}
	found := false
	for _, m := range msgs {
		if strings.HasPrefix(m, "Location:") && strings.Contains(m, "atrium.limits.maxEntities") && strings.Contains(m, "holds 5 entities") {
			found = true
		}
	}
	if !found {
		t.Errorf("status errors: got %q, want the Location to name atrium.limits.maxEntities", msgs)
	}
	_, fams := scrape(t, srv.BaseURL+"/metrics", "")
	if v, ok := fams["atrium_catalog_limit_ratio"].find(nil); !ok || v != 6.0/5 {
		t.Errorf("atrium_catalog_limit_ratio: got %v (present %v), want 1.2 (6 entities, limit 5)", v, ok)
	}
	// Raising nothing and refreshing keeps the catalog where it is.
	c.json("POST", "/api/catalog/refresh", `{"entityRef":"component:default/c0"}`, 200, nil)
	c.json("GET", "/api/catalog/entities", "", 200, &all)
	if len(all) != 6 {
		t.Errorf("entities after a refresh: got %d, want 6", len(all))
	}
}
