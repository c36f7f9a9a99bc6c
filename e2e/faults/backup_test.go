package faults

import (
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/atrium-portal/atrium/internal/backup"
)

// apiRun is a backup run as GET /api/atrium/backups/{id} answers it.
type apiRun struct {
	ID    int64  `json:"id"`
	State string `json:"state"`
	Name  string `json:"name"`
	Size  int64  `json:"size"`
	Error string `json:"error"`
}

// run returns GET /api/atrium/backups/{id}.
func (p *proc) run(id int64) apiRun {
	p.t.Helper()
	status, body := p.call("GET", fmt.Sprintf("/api/atrium/backups/%d", id), "")
	if status != 200 {
		p.t.Fatalf("GET /api/atrium/backups/%d: %d %s", id, status, body)
	}
	var r apiRun
	if err := json.Unmarshal(body, &r); err != nil {
		p.t.Fatal(err)
	}
	return r
}

// startBackup asks for a backup now and returns its run id.
func (p *proc) startBackup() int64 {
	p.t.Helper()
	status, body := p.call("POST", "/api/atrium/backups", "")
	if status != 202 {
		p.t.Fatalf("POST /api/atrium/backups: %d %s", status, body)
	}
	var r apiRun
	if err := json.Unmarshal(body, &r); err != nil {
		p.t.Fatal(err)
	}
	return r.ID
}

// waitRun polls the run until it is no longer running, within limit.
func (p *proc) waitRun(id int64, limit time.Duration) apiRun {
	p.t.Helper()
	for deadline := time.Now().Add(limit); ; time.Sleep(200 * time.Millisecond) {
		r := p.run(id)
		if r.State != backup.StateRunning {
			return r
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("backup run %d still running after %s; log:\n%s", id, limit, p.tail())
		}
	}
}

// TestKillDuringBackup: the server is killed with SIGKILL while a backup
// it was asked for through the API writes its archive and clients read
// the catalog. The backup folder then holds no archive under a final name
// (only the hidden partial file); started again, the server marks the run
// failed as interrupted instead of leaving it running, the next backup
// succeeds, and `atrium restore` of the newest backup brings back what was
// deleted after it. On SQLite, and on PostgreSQL in a throwaway cluster.
func TestKillDuringBackup(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 48 MB database")
	}
	t.Run("sqlite", func(t *testing.T) { testKillDuringBackup(t, "") })
	t.Run("postgres", func(t *testing.T) { testKillDuringBackup(t, freshDatabase(t, newCluster(t).admin)) })
}

// testKillDuringBackup runs on SQLite, or on PostgreSQL at dsn.
func testKillDuringBackup(t *testing.T, dsn string) {
	const n, fillerRows = 50, 48
	dir := t.TempDir()
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: { name: svc-%d }\nspec: { type: service, lifecycle: production, owner: team-a }\n", i)
	}
	target := filepath.Join(dir, "catalog.yaml")
	if err := os.WriteFile(target, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	backups := filepath.Join(dir, "backups")
	port := freePort(t)
	cfg := writeConfig(t, dir, port, fmt.Sprintf(`  allowedLocationTypes: [file]
  rateLimit: { enabled: false }
  backup: { enabled: false, to: %q }
catalog:
  processingInterval: false
  locations:
    - { type: file, target: %q }
`, backups, target))
	driver, source, blob, insert := "sqlite", filepath.Join(dir, "atrium.db"), "BLOB", "INSERT INTO filler VALUES (?)"
	if dsn != "" {
		raw, _ := os.ReadFile(cfg)
		raw = []byte(strings.Replace(string(raw), fmt.Sprintf("database: { client: sqlite, connection: %q }", source),
			fmt.Sprintf("database: { client: pg, connection: %q }", dsn), 1))
		if err := os.WriteFile(cfg, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		driver, source, blob, insert = "pgx", dsn, "bytea", "INSERT INTO filler VALUES ($1)"
	}
	count := func(table string) int {
		t.Helper()
		db, err := sql.Open(driver, source)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n int
		if err := db.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
			t.Fatalf("counting %s: %v", table, err)
		}
		return n
	}
	run := func(query string, args ...any) {
		t.Helper()
		db, err := sql.Open(driver, source)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec(query, args...); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}

	// Migrate and ingest, then add incompressible rows so that the archive
	// takes long enough to be caught midway.
	first := start(t, cfg, port, "first.log", nil)
	first.ready(30 * time.Second)
	waitEntities(t, first, n)
	first.kill()
	run("CREATE TABLE filler (b " + blob + ")")
	buf := make([]byte, 1<<20)
	for range fillerRows {
		_, _ = rand.Read(buf)
		run(insert, buf)
	}

	second := start(t, cfg, port, "second.log", nil)
	second.ready(30 * time.Second)
	var reads, failed atomic.Int64
	var dead atomic.Bool // set just before the kill: later failures are expected
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				status, _ := second.call("GET", fmt.Sprintf("/api/catalog/entities/by-name/component/default/svc-%d", (w*17+i)%n), "")
				if status == 200 {
					reads.Add(1)
				} else if !dead.Load() {
					failed.Add(1)
				}
			}
		}()
	}
	id := second.startBackup()
	killed := false
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline) && !second.exited(); time.Sleep(5 * time.Millisecond) {
		matches, _ := filepath.Glob(filepath.Join(backups, ".atrium-backup-*.partial"))
		if len(matches) == 1 {
			if st, err := os.Stat(matches[0]); err == nil && st.Size() > 1<<20 {
				dead.Store(true)
				second.kill()
				killed = true
				break
			}
		}
	}
	close(stop)
	wg.Wait()
	if !killed {
		t.Fatalf("the backup was not caught writing within 60 s; log:\n%s", second.tail())
	}
	t.Logf("killed during backup run %d; %d reads served, %d failed before the kill", id, reads.Load(), failed.Load())
	if reads.Load() == 0 || failed.Load() != 0 {
		t.Errorf("reads during the backup: %d served, %d failed; want all served", reads.Load(), failed.Load())
	}
	entries, _ := os.ReadDir(backups)
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			t.Errorf("after SIGKILL the folder holds %s under a final name", e.Name())
		}
	}

	third := start(t, cfg, port, "third.log", nil)
	third.ready(30 * time.Second)
	// The run's heartbeat has stopped: it is marked failed, not left running.
	interrupted := third.waitRun(id, 2*backup.StaleAfter+30*time.Second)
	if interrupted.State != backup.StateFailed || interrupted.Error != backup.InterruptedError {
		t.Errorf("the killed run: got %+v, want failed with %q", interrupted, backup.InterruptedError)
	}
	// …and audited as a failed backup, with the run and the reason.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		status, body := third.call("GET", "/api/audit/events?action=atrium.backup.create&outcome=failed", "")
		if status == 200 && strings.Contains(string(body), backup.InterruptedError) && strings.Contains(string(body), fmt.Sprintf(`"run":%d`, id)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no audit record of the interrupted run: %d %s", status, body)
		}
	}
	next := third.waitRun(third.startBackup(), 2*time.Minute)
	if next.State != backup.StateSucceeded || next.Size == 0 {
		t.Fatalf("the backup after the kill: got %+v; log:\n%s", next, third.tail())
	}
	if _, err := os.Stat(filepath.Join(backups, next.Name)); err != nil {
		t.Errorf("the archive of the next backup: %v", err)
	}
	waitEntities(t, third, n)

	// Restore the newest backup with the server stopped, as an operator
	// would, after losing rows.
	third.stop()
	entities := count("entities")
	run("DELETE FROM filler")
	// The killed server's River leadership outlives it until its TTL runs
	// out, and restore refuses while a server seems to hold the database:
	// an operator who restores right after a kill -9 is told to wait.
	var (
		out []byte
		err error
	)
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Second) {
		out, err = exec.Command(binary(t), "restore", "--config", cfg).CombinedOutput()
		if err == nil || !strings.Contains(string(out), backup.ErrServerRunning.Error()) || time.Now().After(deadline) {
			break
		}
	}
	if err != nil || !strings.Contains(string(out), "restored the backup of") {
		t.Fatalf("atrium restore: %v\n%s", err, out)
	}
	if got := count("filler"); got != fillerRows {
		t.Errorf("rows of the deleted table after the restore: got %d, want %d", got, fillerRows)
	}
	if got := count("entities"); got != entities {
		t.Errorf("entities after the restore: got %d, want %d", got, entities)
	}
	fourth := start(t, cfg, port, "fourth.log", nil)
	fourth.ready(30 * time.Second)
	waitEntities(t, fourth, n)
	if r := fourth.run(interrupted.ID); r.State != backup.StateFailed {
		t.Errorf("after the restore the interrupted run is %q, want failed (the history is the database's)", r.State)
	}
}

// stop asks the server to shut down (SIGINT) and waits for it.
func (p *proc) stop() {
	p.t.Helper()
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.t.Fatalf("atrium did not stop within 30 s of SIGINT; log:\n%s", p.tail())
	}
}

// waitEntities waits until the catalog counts n components.
func waitEntities(t *testing.T, p *proc, n int) {
	t.Helper()
	var got map[string]int
	var err error
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if got, err = p.kinds(); err == nil && got["component"] == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("components: got %v (%v), want %d; log:\n%s", got, err, n, p.tail())
		}
	}
}
