package app_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/internal/app"
	"github.com/atrium-portal/atrium/internal/config"
)

func quiet() *slog.Logger { return slog.New(slog.NewJSONHandler(io.Discard, nil)) }

func load(t testing.TB, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.LoadBytes("test.yaml", []byte(yaml), nil)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

func TestNewErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()
	tests := []struct {
		name    string
		yaml    string
		want    string
		mustNot string
	}{
		{
			name: "unreachable postgres",
			yaml: "backend:\n  database:\n    client: pg\n    connection: postgres://atrium:hunter2@127.0.0.1:1/db?connect_timeout=2\n",
			want: "opening the PostgreSQL database (backend.database.connection)", mustNot: "hunter2",
		},
		{
			name: "port in use",
			yaml: "backend:\n  listen: '" + busy.Addr().String() + "'\n  database:\n    connection: " + filepath.Join(dir, "a.db") + "\natrium:\n  dataDir: " + dir + "\n",
			want: "(backend.listen)",
		},
		{
			name: "demo cannot be written",
			yaml: "backend:\n  database:\n    connection: " + filepath.Join(dir, "b.db") + "\natrium:\n  demo: true\n  dataDir: " + filepath.Join(dir, "b.db") + "\n",
			want: "writing the demo catalog",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := app.New(context.Background(), load(t, tt.yaml), app.Options{Logger: quiet()})
			if err == nil {
				a.Close()
				t.Fatalf("got no error, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want it to contain %q", err, tt.want)
			}
			if tt.mustNot != "" && strings.Contains(err.Error(), tt.mustNot) {
				t.Errorf("error leaks %q: %v", tt.mustNot, err)
			}
		})
	}
}

func TestMemoryDatabase(t *testing.T) {
	cfg := load(t, "backend:\n  listen: { host: 127.0.0.1, port: 0 }\n  database:\n    connection: ':memory:'\natrium:\n  dataDir: "+t.TempDir()+"\n")
	a, err := app.New(context.Background(), cfg, app.Options{Logger: quiet()})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := a.Store().Ping(context.Background()); err != nil {
		t.Errorf("ping: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
}
