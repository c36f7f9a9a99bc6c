package app_test

import (
	"context"
	"runtime/debug"
	"testing"

	"github.com/atrium-portal/atrium/internal/app"
)

// TestMemoryLimit: atrium.memory.limit becomes the Go runtime's soft
// memory limit while the app runs, GOMEMLIMIT in the environment wins,
// and Close puts back the limit that was there before.
func TestMemoryLimit(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	tests := []struct {
		name      string
		memory    string
		gomemlim  string
		wantLimit int64
	}{
		{"configured", "limit: 300MiB", "", 300 << 20},
		{"off", "limit: 0", "", prev},
		{"GOMEMLIMIT wins", "limit: 300MiB", "500MiB", prev},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOMEMLIMIT", tc.gomemlim)
			cfg := load(t, "backend:\n  listen: { host: 127.0.0.1, port: 0 }\n  database:\n    connection: ':memory:'\n"+
				"atrium:\n  dataDir: "+t.TempDir()+"\n  demo: false\n  memory:\n    "+tc.memory+"\n")
			a, err := app.New(context.Background(), cfg, app.Options{Logger: quiet(), NoServer: true})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if got := debug.SetMemoryLimit(-1); got != tc.wantLimit {
				t.Errorf("got limit %d while running, want %d", got, tc.wantLimit)
			}
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			if got := debug.SetMemoryLimit(-1); got != prev {
				t.Errorf("got limit %d after Close, want %d", got, prev)
			}
		})
	}
}

// TestSQLiteReadCache: atrium.memory.sqliteReadCache sizes each SQLite
// read connection's page cache.
func TestSQLiteReadCache(t *testing.T) {
	cfg := load(t, "atrium:\n  memory:\n    sqliteReadCache: 2MiB\n")
	got := app.SQLiteConfig("x.db", cfg.Backend.Database, cfg.Atrium.Memory)
	if got.CacheSizeKiB != 2048 {
		t.Fatalf("got CacheSizeKiB %d, want 2048", got.CacheSizeKiB)
	}
}

// TestEffectiveMemoryLimit: the limit is the budget until the live heap
// needs more; then half the live heap again plus 16 MiB, so that a large
// catalog's collector does not run continuously.
func TestEffectiveMemoryLimit(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		limit, live, stable int64
		firstLoad           bool
		want                int64
	}{
		{128 * mib, 20 * mib, 0, false, 128 * mib},
		{128 * mib, 74 * mib, 0, false, 128 * mib},
		{128 * mib, 100 * mib, 0, false, 166 * mib},
		{128 * mib, 100*mib + 1, 0, false, 167 * mib},
		{1024 * mib, 100 * mib, 0, false, 1024 * mib},
		// 40 MiB of a full entity cache get no headroom.
		{128 * mib, 140 * mib, 40 * mib, false, 206 * mib},
		{128 * mib, 140 * mib, 200 * mib, false, 156 * mib},
		// A first load gets the whole live heap as headroom.
		{128 * mib, 56 * mib, 0, true, 128 * mib},
		{128 * mib, 100 * mib, 0, true, 216 * mib},
		{128 * mib, 140 * mib, 40 * mib, true, 256 * mib},
	}
	for _, tc := range tests {
		if got := app.EffectiveMemoryLimit(tc.limit, tc.live, tc.stable, tc.firstLoad); got != tc.want {
			t.Errorf("EffectiveMemoryLimit(%d MiB, %d, %d, %v): got %d, want %d", tc.limit/mib, tc.live, tc.stable, tc.firstLoad, got, tc.want)
		}
	}
}
