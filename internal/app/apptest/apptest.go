// Package apptest starts a whole Atrium (internal/app) for end-to-end tests:
// a real database, the real engine and the real HTTP server on 127.0.0.1:0.
package apptest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/atrium-portal/atrium/internal/app"
	"github.com/atrium-portal/atrium/internal/config"
	"github.com/atrium-portal/atrium/internal/logsink"
)

// Server is a running Atrium.
type Server struct {
	// BaseURL is http://127.0.0.1:<port>.
	BaseURL string
	// Dir is the test's data directory (also ${ATRIUM_TEST_DIR} in the YAML).
	Dir string
	App *app.App

	stop func()
}

// Stop shuts the server down (as at the end of the test), for tests that
// restart Atrium on the same database. It is safe to call more than once.
func (s *Server) Stop() { s.stop() }

// Start runs Atrium with configYAML merged over a test base configuration
// (SQLite in a temporary directory, no demo, no periodic refresh) and
// returns its base URL once the configured locations have been processed.
// ${ATRIUM_TEST_DIR} in configYAML names the temporary directory. The server
// stops when the test ends.
func Start(t testing.TB, configYAML string) string {
	t.Helper()
	return StartServer(t, configYAML).BaseURL
}

// StartServer is Start returning the whole Server.
func StartServer(t testing.TB, configYAML string) *Server {
	t.Helper()
	dir := t.TempDir()
	base := fmt.Sprintf(`backend:
  listen: { host: 127.0.0.1, port: 0 }
  database:
    client: sqlite
    connection: %q
catalog:
  processingInterval: false
atrium:
  dataDir: %q
  demo: false
  # Tests act as the development user, an admin as in the local demo;
  # authorization tests configure their own principals and policy.
  authz: { admins: [user:default/guest] }
`, filepath.Join(dir, "atrium.db"), filepath.Join(dir, "data"))
	basePath := filepath.Join(dir, "base.yaml")
	testPath := filepath.Join(dir, "test.yaml")
	for p, content := range map[string]string{basePath: base, testPath: configYAML} {
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// The process environment feeds ${VAR}, but APP_CONFIG_ overrides are
	// left out so that a developer's shell cannot change what a test runs.
	env := config.Environ()
	for k := range env {
		if strings.HasPrefix(k, config.EnvPrefix) {
			delete(env, k)
		}
	}
	env["ATRIUM_TEST_DIR"] = dir
	cfg, err := config.Load([]string{basePath, testPath}, env)
	if err != nil {
		t.Fatalf("apptest: configuration: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("apptest: listen: %v", err)
	}
	// Without a configured backend.baseUrl, the derived one names port 0;
	// the real port makes the URLs Atrium hands out (git host, links) work.
	if strings.HasSuffix(cfg.Backend.BaseURL, ":0") {
		cfg.Backend.BaseURL = "http://" + ln.Addr().String()
	}
	// The handler `atrium serve` logs with, so that benchmarks pay for the
	// access log line as the server does.
	logger := slog.New(logsink.NewJSONHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(logsink.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, app.Options{Logger: logger, Listener: ln})
	if err != nil {
		cancel()
		_ = ln.Close()
		t.Fatalf("apptest: starting: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("apptest: run: %v", err)
			}
			if err := a.Close(); err != nil {
				t.Errorf("apptest: close: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	select {
	case <-a.Ready():
	case err := <-done:
		done <- err
		t.Fatalf("apptest: stopped before it was ready: %v", err)
	}
	return &Server{BaseURL: "http://" + a.Addr().String(), Dir: dir, App: a, stop: stop}
}
