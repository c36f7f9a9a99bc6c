// Package faults runs the real atrium binary as a subprocess on 127.0.0.1
// and breaks it the hard way: kill -9 in the middle of ingestion, a data
// folder that runs out of space. Each test is bounded (well under 60 s) and
// checks that nothing is lost or duplicated, that failures come back as
// clear errors, and that the server recovers by itself.
//
// Also: the server killed during a backup it takes (backup_test.go),
// PostgreSQL restarted and stopped under load (pgrestart_test.go), and,
// next to their code, internal/app/scaffolder_test.go (a restarted task
// does not run its finished steps again) and cmd/atrium/backup_kill_test.go
// (`atrium backup` killed: no archive that looks complete).
package faults

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds ./cmd/atrium once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "atrium-faults-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "atrium")
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/atrium")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// proc is one running atrium serve.
type proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	base string
	log  string
	done chan struct{}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// start runs atrium serve with the configuration file; extra sets up the
// command (resource limits) before it starts.
func start(t *testing.T, cfg string, port int, logName string, extra func(*exec.Cmd)) *proc {
	t.Helper()
	logPath := filepath.Join(filepath.Dir(cfg), logName)
	lf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary(t), "serve", "--config", cfg)
	cmd.Stdout, cmd.Stderr = lf, lf
	if extra != nil {
		extra(cmd)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, cmd: cmd, base: fmt.Sprintf("http://127.0.0.1:%d", port), log: logPath, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); lf.Close(); close(p.done) }()
	t.Cleanup(p.kill)
	return p
}

func (p *proc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// ready waits until /readyz answers 200.
func (p *proc) ready(limit time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if p.exited() {
			p.t.Fatalf("atrium exited before it was ready; log:\n%s", p.tail())
		}
		if res, err := http.Get(p.base + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatalf("atrium not ready within %s; log:\n%s", limit, p.tail())
}

func (p *proc) tail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// call sends a request and returns the status and body.
func (p *proc) call(method, path, body string) (int, []byte) {
	p.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, p.base+path, rd)
	if err != nil {
		p.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	client := &http.Client{Timeout: 30 * time.Second}
	res, err := client.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// kinds returns the entity count per kind (lowercased) from the facets.
func (p *proc) kinds() (map[string]int, error) {
	status, body := p.call("GET", "/api/catalog/entity-facets?facet=kind", "")
	if status != 200 {
		return nil, fmt.Errorf("entity-facets: %d %s", status, body)
	}
	var f struct {
		Facets map[string][]struct {
			Value string `json:"value"`
			Count int    `json:"count"`
		} `json:"facets"`
	}
	if err := json.Unmarshal(body, &f); err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, v := range f.Facets["kind"] {
		out[strings.ToLower(v.Value)] += v.Count
	}
	return out, nil
}

// countRows counts the entities in the SQLite file, read-only, while the
// server writes it.
func countRows(t *testing.T, dbPath string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+dbPath+"?mode=ro&_pragma=busy_timeout(1000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM entities").Scan(&n); err != nil {
		return -1
	}
	return n
}

func writeConfig(t *testing.T, dir string, port int, extra string) string {
	t.Helper()
	cfg := fmt.Sprintf(`backend:
  listen: { host: 127.0.0.1, port: %d }
  database: { client: sqlite, connection: %q }
atrium:
  dataDir: %q
  demo: false
  authz: { admins: [user:default/guest] }
%s`, port, filepath.Join(dir, "atrium.db"), filepath.Join(dir, "data"), extra)
	path := filepath.Join(dir, "app-config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
