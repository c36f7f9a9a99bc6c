package faults

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/backup"
)

// TestPostgresRestart: while clients read (by-query) and write (register
// locations) through Atrium, its PostgreSQL is restarted (pg_ctl restart
// -m fast), and later stopped for ten seconds and started again. It runs
// on a throwaway cluster of its own, even when ATRIUM_TEST_POSTGRES names
// a server: the shared server must never be restarted. During each outage
// requests are answered at once with a clear 503 (a JSON
// ServiceUnavailableError), never a 500, a hang or a broken connection,
// and /readyz goes false; after it, the server recovers by itself: /readyz
// is true again, reads and writes work, River works jobs again (a backup
// queued through the API succeeds), and every registered location's
// entity is in the catalog exactly once.
func TestPostgresRestart(t *testing.T) {
	pg := newCluster(t)
	dsn := freshDatabase(t, pg.admin)
	dir := t.TempDir()
	const n = 50
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: { name: svc-%d }\nspec: { type: service, lifecycle: production, owner: team-a }\n", i)
	}
	target := filepath.Join(dir, "catalog.yaml")
	if err := os.WriteFile(target, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	const regs = 400
	for i := range regs {
		body := fmt.Sprintf("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: { name: reg-%d }\nspec: { type: service, lifecycle: production, owner: team-b }\n", i)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("reg-%d.yaml", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	backups := filepath.Join(dir, "backups")
	port := freePort(t)
	cfg := writeConfig(t, dir, port, fmt.Sprintf(`  allowedLocationTypes: [file]
  cache: { entities: 0, maxAge: 0s }
  rateLimit: { enabled: false }
  backup: { enabled: false, to: %q }
catalog:
  processingInterval: false
  locations:
    - { type: file, target: %q }
`, backups, target))
	raw, _ := os.ReadFile(cfg)
	raw = []byte(strings.Replace(string(raw), fmt.Sprintf("database: { client: sqlite, connection: %q }", filepath.Join(dir, "atrium.db")),
		fmt.Sprintf("database: { client: pg, connection: %q }", dsn), 1))
	if err := os.WriteFile(cfg, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	p := start(t, cfg, port, "atrium.log", nil)
	p.ready(30 * time.Second)
	waitEntities(t, p, n)

	var (
		mu       sync.Mutex
		counts   = map[string]int{}
		bad      []string
		next     int
		failed   []int // registrations answered other than 201
		notReady int
		slowest  time.Duration // of the 503 answers, for the log
	)
	record := func(what string, t0 time.Time, status int, body []byte, want int) {
		mu.Lock()
		defer mu.Unlock()
		counts[fmt.Sprintf("%s %d", what, status)]++
		if d := time.Since(t0); status == 503 && d > slowest {
			slowest = d
		}
		if status == want {
			return
		}
		var e struct {
			Error struct {
				Name    string `json:"name"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if status != 503 || json.Unmarshal(body, &e) != nil || e.Error.Name != "ServiceUnavailableError" || e.Error.Message == "" {
			bad = append(bad, fmt.Sprintf("%s: %d %s", what, status, body))
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if w < 2 {
					t0 := time.Now()
					status, body := p.call("GET", fmt.Sprintf("/api/catalog/entities/by-query?limit=20&filter=kind%%3Dcomponent,metadata.name%%3Dsvc-%d", (w*13+i)%n), "")
					record("by-query", t0, status, body, 200)
					time.Sleep(10 * time.Millisecond)
					continue
				}
				mu.Lock()
				if next == regs {
					mu.Unlock()
					time.Sleep(50 * time.Millisecond)
					continue
				}
				k := next
				next++
				mu.Unlock()
				t0 := time.Now()
				status, body := p.call("POST", "/api/catalog/locations", fmt.Sprintf(`{"type":"file","target":%q}`, filepath.Join(dir, fmt.Sprintf("reg-%d.yaml", k))))
				record("register", t0, status, body, 201)
				if status != 201 {
					mu.Lock()
					failed = append(failed, k)
					mu.Unlock()
				}
				time.Sleep(100 * time.Millisecond)
			}
		}()
	}
	// readyz is watched throughout.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if status, _ := p.call("GET", "/readyz", ""); status != 200 {
				mu.Lock()
				notReady++
				mu.Unlock()
			}
		}
	}()

	time.Sleep(time.Second)
	pg.ctl("restart")
	p.recovered(t)
	time.Sleep(time.Second)

	pg.ctl("stop")
	// Ten seconds without a database: every answer is a quick 503.
	time.Sleep(10 * time.Second)
	mu.Lock()
	down := notReady
	mu.Unlock()
	pg.ctl("start")
	p.recovered(t)
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()

	t.Logf("answers: %v; slowest 503 %v; /readyz false %d times (%d while stopped); %d of %d registrations refused", counts, slowest, notReady, down, len(failed), next)
	for i, s := range bad {
		if i == 5 {
			t.Errorf("… and %d more", len(bad)-5)
			break
		}
		t.Errorf("an answer is neither a success nor a clear 503: %s", s)
	}
	if down == 0 {
		t.Error("/readyz never went false while PostgreSQL was stopped")
	}
	if counts["by-query 503"] == 0 {
		t.Error("no read was refused with 503 while PostgreSQL was stopped")
	}
	if p.exited() {
		t.Fatalf("atrium exited; log:\n%s", p.tail())
	}

	// Refused registrations are tried again: each is created now or was
	// created after all (409).
	for _, k := range failed {
		status, body := p.call("POST", "/api/catalog/locations", fmt.Sprintf(`{"type":"file","target":%q}`, filepath.Join(dir, fmt.Sprintf("reg-%d.yaml", k))))
		if status != 201 && status != 409 {
			t.Errorf("registering reg-%d again: %d %s", k, status, body)
		}
	}
	waitEntities(t, p, n+next)
	status, body := p.call("GET", "/api/catalog/entities?fields=kind,metadata.namespace,metadata.name&filter=kind%3Dcomponent", "")
	if status != 200 {
		t.Fatalf("GET /entities: %d %s", status, body)
	}
	var all []struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(body, &all); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range all {
		seen[e.Metadata.Name]++
	}
	for i := range next {
		if c := seen[fmt.Sprintf("reg-%d", i)]; c != 1 {
			t.Errorf("reg-%d: listed %d times, want once", i, c)
		}
	}
	for i := range n {
		if c := seen[fmt.Sprintf("svc-%d", i)]; c != 1 {
			t.Errorf("svc-%d: listed %d times, want once", i, c)
		}
	}
	// River is back: a backup queued now is taken and succeeds.
	if r := p.waitRun(p.startBackup(), 2*time.Minute); r.State != backup.StateSucceeded {
		t.Errorf("a backup after the outages: got %+v", r)
	}
}

// recovered waits until /readyz is true and a read and a write work
// again, by themselves, within a minute.
func (p *proc) recovered(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/readyz", ""},
		{"GET", "/api/catalog/entities/by-name/component/default/svc-1", ""},
		{"POST", "/api/catalog/refresh", `{"entityRef":"component:default/svc-1"}`},
	} {
		for {
			status, body := p.call(c.method, c.path, c.body)
			if status == 200 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s %s did not work again within a minute: %d %s; log:\n%s", c.method, c.path, status, body, p.tail())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}
