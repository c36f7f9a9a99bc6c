package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/internal/app"
	"github.com/atrium-portal/atrium/internal/config"
)

// whoIs asks the running server who the token is.
func whoIs(t testing.TB, base, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/api/auth/v1/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestTokenCLI(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "app-config.yaml")
	content := "backend:\n  listen: { host: 127.0.0.1, port: 0 }\n  database:\n    client: sqlite\n    connection: " + filepath.Join(dir, "atrium.db") +
		"\natrium:\n  dataDir: " + filepath.Join(dir, "data") + "\n  demo: false\n"
	if err := os.WriteFile(cfgPath, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}

	code, out, stderr := runCLI(t, "token", "create", "--config", cfgPath, "--service", "ci", "--name", "CI pipeline", "--scope", "catalog.*", "--expires", "30d")
	svc := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(svc, "atr_svc_") || !strings.Contains(stderr, "for service:ci") {
		t.Fatalf("create service token: got %d %q %q", code, out, stderr)
	}
	code, out, _ = runCLI(t, "token", "create", "--config", cfgPath, "--user", "user:default/jane", "--name", "laptop")
	pat := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(pat, "atr_pat_") {
		t.Fatalf("create personal token: got %d %q", code, out)
	}

	code, out, _ = runCLI(t, "token", "list", "--config", cfgPath)
	if code != 0 || !strings.Contains(out, "service:ci") || !strings.Contains(out, "catalog.*") || strings.Contains(out, svc) {
		t.Fatalf("list: got %d %q", code, out)
	}
	svcID := regexp.MustCompile(`(tok_[0-9a-f]+)\s+service`).FindStringSubmatch(out)
	if svcID == nil {
		t.Fatalf("list: no service token id in %q", out)
	}

	// The tokens work against a server on the same database.
	cfg, err := config.Load([]string{cfgPath}, map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, app.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Listener: ln})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Error(err)
		}
		_ = a.Close()
	}()
	<-a.Ready()
	base := "http://" + a.Addr().String()
	if status, body := whoIs(t, base, svc); status != 200 || !strings.Contains(body, `"sub":"service:ci"`) {
		t.Errorf("service token: got %d %s", status, body)
	}
	if status, body := whoIs(t, base, pat); status != 200 || !strings.Contains(body, `"sub":"user:default/jane"`) {
		t.Errorf("personal token: got %d %s", status, body)
	}

	code, out, _ = runCLI(t, "token", "revoke", "--config", cfgPath, svcID[1])
	if code != 0 || !strings.Contains(out, "revoked "+svcID[1]) {
		t.Fatalf("revoke: got %d %q", code, out)
	}
	if status, _ := whoIs(t, base, svc); status != 401 {
		t.Errorf("revoked service token: got %d, want 401", status)
	}
	code, _, stderr = runCLI(t, "token", "revoke", "--config", cfgPath, svcID[1])
	if code != 1 || !strings.Contains(stderr, "no active token") {
		t.Errorf("revoke twice: got %d %q", code, stderr)
	}
}

func TestTokenCLIUsage(t *testing.T) {
	tests := []struct {
		args   []string
		stderr string
	}{
		{[]string{"token"}, "token needs a subcommand"},
		{[]string{"token", "create", "--name", "x", "--user", "user:default/a"}, "needs --config"},
		{[]string{"token", "create", "--config", "x.yaml", "--name", "x"}, "exactly one of --user REF or --service NAME"},
		{[]string{"token", "create", "--config", "x.yaml", "--name", "x", "--service", "a", "--expires", "soon"}, "--expires"},
		{[]string{"token", "revoke", "--config", "x.yaml"}, "exactly one token ID"},
		{[]string{"token", "frob", "--config", "x.yaml"}, `unknown token subcommand "frob"`},
	}
	for _, tt := range tests {
		code, _, stderr := runCLI(t, tt.args...)
		if code != 2 || !strings.Contains(stderr, tt.stderr) {
			t.Errorf("%v: got %d %q, want 2 and %q", tt.args, code, stderr, tt.stderr)
		}
	}
}
