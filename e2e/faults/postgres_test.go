package faults

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// postgresDSN returns the connection string of a PostgreSQL server for the
// test: a fresh database on ATRIUM_TEST_POSTGRES when it is set, else a
// throwaway cluster of its own (newCluster), never the machine's shared
// server. It skips the test when neither is possible.
func postgresDSN(t *testing.T) string {
	t.Helper()
	if admin := os.Getenv("ATRIUM_TEST_POSTGRES"); admin != "" {
		return freshDatabase(t, admin)
	}
	return freshDatabase(t, newCluster(t).admin)
}

// pgBin holds PostgreSQL 15's server programs (Debian's layout).
const pgBin = "/usr/lib/postgresql/15/bin"

// cluster is a throwaway PostgreSQL cluster: initdb as the postgres user
// into a temporary folder, listening on a free port of 127.0.0.1 only. A
// test may stop and restart it, which the machine's shared server must
// never be. It needs root (CI runs as root) and initdb.
type cluster struct {
	t     *testing.T
	dir   string
	opts  string
	admin string
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	if _, err := os.Stat(filepath.Join(pgBin, "initdb")); err != nil || os.Geteuid() != 0 {
		t.Skip("needs root and PostgreSQL 15's initdb for a throwaway cluster")
	}
	dir, err := os.MkdirTemp("", "atrium-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if out, err := exec.Command("chown", "postgres:", dir).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v %s", err, out)
	}
	port := freePort(t)
	c := &cluster{t: t, dir: dir,
		opts:  fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off -c synchronous_commit=off -c full_page_writes=off", port, dir),
		admin: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)}
	c.run("initdb", "-D", filepath.Join(dir, "data"), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
	c.ctl("start")
	t.Cleanup(func() {
		_ = exec.Command("runuser", "-u", "postgres", "--", filepath.Join(pgBin, "pg_ctl"), "-D", filepath.Join(dir, "data"), "-m", "immediate", "-w", "stop").Run()
	})
	return c
}

// run runs one of PostgreSQL's programs as the postgres user.
func (c *cluster) run(prog string, args ...string) {
	c.t.Helper()
	cmd := exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(pgBin, prog)}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		c.t.Fatalf("%s %s: %v\n%s", prog, strings.Join(args, " "), err, out)
	}
}

// ctl runs pg_ctl start, stop or restart (fast shutdown), waiting for it.
func (c *cluster) ctl(action string) {
	c.t.Helper()
	c.run("pg_ctl", "-D", filepath.Join(c.dir, "data"), "-l", filepath.Join(c.dir, "log"), "-w", "-t", "60", "-m", "fast", "-o", c.opts, action)
}

func freshDatabase(t *testing.T, admin string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connecting to PostgreSQL: %v", err)
	}
	defer conn.Close(ctx)
	name := "atrium_faults_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, admin)
		if err == nil {
			_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(ctx)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// TestPostgresConnectionsTerminated: while clients read and write through
// Atrium, every backend it holds is terminated (pg_terminate_backend) a
// few times. Answers during it are 200s or clean 503s, never 500s or
// broken connections; within a few seconds of the last termination every
// request succeeds again, and the server has recovered by itself.
func TestPostgresConnectionsTerminated(t *testing.T) {
	dsn := postgresDSN(t)
	dir := t.TempDir()
	var b strings.Builder
	for i := range 50 {
		fmt.Fprintf(&b, "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: { name: svc-%d }\nspec: { type: service, lifecycle: production, owner: team-a }\n", i)
	}
	target := filepath.Join(dir, "catalog.yaml")
	if err := os.WriteFile(target, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	cfg := writeConfig(t, dir, port, fmt.Sprintf(`  allowedLocationTypes: [file]
  cache: { entities: 0, maxAge: 0s }
  rateLimit: { enabled: false }
catalog:
  processingInterval: false
  locations:
    - { type: file, target: %q }
`, target))
	raw, _ := os.ReadFile(cfg)
	raw = []byte(strings.Replace(string(raw), fmt.Sprintf("database: { client: sqlite, connection: %q }", filepath.Join(dir, "atrium.db")),
		fmt.Sprintf("database: { client: pg, connection: %q }", dsn), 1))
	if err := os.WriteFile(cfg, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	p := start(t, cfg, port, "atrium.log", nil)
	p.ready(30 * time.Second)
	t.Cleanup(func() {
		if t.Failed() {
			raw, _ := os.ReadFile(p.log)
			for _, l := range strings.Split(string(raw), "\n") {
				if strings.Contains(l, `"level":"ERROR"`) {
					t.Logf("log: %s", l)
				}
			}
		}
	})
	for deadline := time.Now().Add(20 * time.Second); ; {
		status, body := p.call("GET", "/api/catalog/entities/by-name/component/default/svc-49", "")
		if status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the catalog was not ingested within 20 s: %d %s", status, body)
		}
		time.Sleep(100 * time.Millisecond)
	}

	ctx, stop := context.WithCancel(context.Background())
	var (
		mu     sync.Mutex
		counts = map[int]int{}
		bad    []string
		okAt   atomic.Int64
	)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				var status int
				var body []byte
				switch i % 3 {
				case 0:
					status, body = p.call("GET", fmt.Sprintf("/api/catalog/entities/by-name/component/default/svc-%d", (w*7+i)%50), "")
				case 1:
					status, body = p.call("GET", "/api/catalog/entity-facets?facet=spec.type", "")
				case 2:
					status, body = p.call("POST", "/api/catalog/refresh", `{"entityRef":"component:default/svc-3"}`)
				}
				mu.Lock()
				counts[status]++
				if status != 200 && status != 503 {
					bad = append(bad, fmt.Sprintf("%d %s", status, body))
				}
				mu.Unlock()
				if status == 200 {
					okAt.Store(time.Now().UnixNano())
				}
			}
		}()
	}

	admin, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	terminated := 0
	for range 3 {
		time.Sleep(500 * time.Millisecond)
		var n int
		err := admin.QueryRow(context.Background(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		terminated += n
	}
	last := time.Now()
	// Every request must succeed again within a few seconds.
	deadline := last.Add(10 * time.Second)
	for time.Unix(0, okAt.Load()).Before(last.Add(time.Second)) {
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second)
	stop()
	wg.Wait()
	t.Logf("terminated %d backends; answers by status: %v", terminated, counts)
	if terminated == 0 {
		t.Fatal("no backend was terminated")
	}
	for i, s := range bad {
		if i == 5 {
			break
		}
		t.Errorf("an answer during the terminations is neither 200 nor 503: %s", s)
	}
	recovered := time.Now().Add(5 * time.Second)
	for _, path := range []string{"/readyz", "/api/catalog/entities/by-name/component/default/svc-9", "/api/catalog/entity-facets?facet=kind"} {
		for {
			status, body := p.call("GET", path, "")
			if status == 200 {
				break
			}
			if time.Now().After(recovered) {
				t.Errorf("%s after the terminations: got %d, want 200 within seconds: %s", path, status, body)
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if status, body := p.call("POST", "/api/catalog/refresh", `{"entityRef":"component:default/svc-3"}`); status != 200 {
		t.Errorf("a write after the terminations: got %d: %s", status, body)
	}
	if p.exited() {
		t.Error("atrium exited")
	}
}
