package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// moduleDir returns the root folder of the module the harness runs in.
func moduleDir(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("finding the module: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("run the harness from inside the atrium module (go run ./bench)")
	}
	return filepath.Dir(gomod), nil
}

// buildServer builds ./cmd/atrium of the module at modDir into dir, with
// the overlay file when one is given, and returns the binary's path.
func buildServer(ctx context.Context, modDir, dir, overlay string) (string, error) {
	bin := filepath.Join(dir, "atrium")
	args := []string{"build", "-o", bin}
	if overlay != "" {
		args = append(args, "-overlay", overlay)
	}
	cmd := exec.CommandContext(ctx, "go", append(args, "./cmd/atrium")...)
	cmd.Dir = modDir
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building ./cmd/atrium: %w\n%s", err, b)
	}
	return bin, nil
}

// serverParams describe the server to start.
type serverParams struct {
	Bin    string
	Dir    string // holds the config, the SQLite database and the log
	Root   string // the root Location file of the generated catalog
	Engine string // "sqlite" or "postgres"
	DSN    string // PostgreSQL connection string
	// Entities sizes the per-location limit so that the whole set fits.
	Entities int
	// Env is added to the server's environment.
	Env []string
	// NoAnswerCache turns the answer cache off (atrium.cache.answers: 0):
	// every list page and facet count is read from the database, while the
	// entity cache works as usual.
	NoAnswerCache bool
	// Name, when set, is added to the config's and the log's file names
	// (app-config-<name>.yaml, server-<name>.log), so that a second start
	// on the same folder keeps the first one's.
	Name string
}

// server is a running atrium subprocess.
type server struct {
	BaseURL string
	LogPath string
	Started time.Time
	// Exited is closed when the process has ended.
	Exited <-chan struct{}

	cmd     *exec.Cmd
	logFile *os.File
	waitErr error
}

// configYAML returns the configuration the benchmark runs with: the
// generated catalog as the only static location, every kind allowed, no
// demo, periodic refresh rare enough not to overlap the measurement, and no
// rate limiting, which exists to protect a shared server from one client
// and would otherwise be what the load phase measures.
func configYAML(p serverParams, port int) string {
	var db string
	if p.Engine == "postgres" {
		db = fmt.Sprintf("    client: pg\n    connection: %q\n", p.DSN)
	} else {
		db = fmt.Sprintf("    client: sqlite\n    connection: %q\n", filepath.Join(p.Dir, "atrium.db"))
	}
	return fmt.Sprintf(`backend:
  baseUrl: http://127.0.0.1:%[1]d
  listen:
    host: 127.0.0.1
    port: %[1]d
  database:
%[2]scatalog:
  locations:
    - type: file
      target: %[3]q
  rules:
    - allow: [Component, API, Resource, System, Domain, Group, User, Location, Template]
  orphanStrategy: keep
  processingInterval: { hours: 1 }
atrium:
  dataDir: %[4]q
  demo: false
  rateLimit:
    enabled: false
  limits:
    maxEntitiesPerLocation: %[5]d
%[6]s`, port, db, p.Root, filepath.Join(p.Dir, "data"), p.Entities*2+1000, cacheYAML(p))
}

// cacheYAML is the atrium.cache block of the configuration: none (the
// defaults) unless the answer cache is off.
func cacheYAML(p serverParams) string {
	if !p.NoAnswerCache {
		return ""
	}
	return "  cache:\n    answers: 0\n"
}

// fileName returns base with the server's name, if any, before ext.
func (p serverParams) fileName(base, ext string) string {
	if p.Name != "" {
		base += "-" + p.Name
	}
	return base + ext
}

// freePort asks the kernel for a free port on the loopback interface.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startServer writes the configuration and starts the binary. The start
// time is taken just before the process is created.
func startServer(ctx context.Context, p serverParams) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cfg := filepath.Join(p.Dir, p.fileName("app-config", ".yaml"))
	if err := os.WriteFile(cfg, []byte(configYAML(p, port)), 0o644); err != nil {
		return nil, err
	}
	logPath := filepath.Join(p.Dir, p.fileName("server", ".log"))
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(p.Bin, "serve", "--config", cfg)
	cmd.Dir = p.Dir
	cmd.Env = append(os.Environ(), p.Env...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	s := &server{BaseURL: fmt.Sprintf("http://127.0.0.1:%d", port), LogPath: logPath, cmd: cmd, logFile: logFile}
	s.Started = time.Now()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting %s: %w", p.Bin, err)
	}
	exited := make(chan struct{})
	s.Exited = exited
	go func() {
		s.waitErr = cmd.Wait()
		close(exited)
	}()
	return s, nil
}

// PID returns the server's process id.
func (s *server) PID() int { return s.cmd.Process.Pid }

// PeakRSSMB returns the process's peak resident set size so far in MiB,
// from VmHWM in /proc; after the process has ended it returns the maximum
// resident set size the kernel reported for it.
func (s *server) PeakRSSMB() float64 {
	select {
	case <-s.Exited:
		if ru, ok := s.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			return float64(ru.Maxrss) / 1024 // KiB on Linux
		}
		return 0
	default:
	}
	kb, err := procStatusKB(s.PID(), "VmHWM")
	if err != nil {
		return 0
	}
	return float64(kb) / 1024
}

// procStatusKB reads one "Key: N kB" line of /proc/<pid>/status.
func procStatusKB(pid int, key string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != key {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) == 0 {
			break
		}
		return strconv.ParseInt(fields[0], 10, 64)
	}
	return 0, fmt.Errorf("/proc/%d/status: no %s", pid, key)
}

// Stop asks the server to shut down and waits for it, killing it when it
// does not end within 30 seconds.
func (s *server) Stop() {
	select {
	case <-s.Exited:
	default:
		_ = s.cmd.Process.Signal(os.Interrupt)
		select {
		case <-s.Exited:
		case <-time.After(30 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.Exited
		}
	}
	s.logFile.Close()
}

// LogTail returns the last n lines of the server's log, and how it ended if
// it has.
func (s *server) LogTail(n int) string {
	b, _ := os.ReadFile(s.LogPath)
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	out := "server log (" + s.LogPath + "), last lines:\n" + string(bytes.Join(lines, []byte("\n")))
	select {
	case <-s.Exited:
		out += fmt.Sprintf("\nserver exited: %v", s.waitErr)
	default:
	}
	return out
}
