package config

import (
	"testing"
)

func TestMemoryKeys(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		want    Memory
		wantErr string
	}{
		{"defaults", "{}", Memory{Limit: 128 << 20, SQLiteReadCache: 4 << 20}, ""},
		{"set", "atrium:\n  memory:\n    limit: 1GiB\n    sqliteReadCache: 2MiB\n", Memory{Limit: 1 << 30, SQLiteReadCache: 2 << 20}, ""},
		{"off", "atrium:\n  memory:\n    limit: 0\n", Memory{SQLiteReadCache: 4 << 20}, ""},
		{"bad size", "atrium:\n  memory:\n    limit: lots\n", Memory{}, "test:3: atrium.memory.limit"},
		{"too small", "atrium:\n  memory:\n    limit: 1MiB\n", Memory{}, "atrium.memory.limit: must be 0 (off) or at least 32MiB"},
		{"cache too small", "atrium:\n  memory:\n    sqliteReadCache: 1KiB\n", Memory{}, "atrium.memory.sqliteReadCache: must be between 64KiB and 1GiB"},
		{"unknown key", "atrium:\n  memory:\n    limt: 1GiB\n", Memory{}, "atrium.memory.limt"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := loadCase(t, tc.yaml, tc.wantErr)
			if cfg == nil {
				return
			}
			if cfg.Atrium.Memory != tc.want {
				t.Fatalf("got %+v, want %+v", cfg.Atrium.Memory, tc.want)
			}
		})
	}
}

// TestMemoryFromEnvironment: the limit can be set without a file, as
// operators set it from a container's memory limit.
func TestMemoryFromEnvironment(t *testing.T) {
	cfg, err := LoadBytes("test", []byte("{}"), map[string]string{"APP_CONFIG_atrium_memory_limit": "400MiB"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.Atrium.Memory.Limit, int64(400<<20); got != want {
		t.Fatalf("got %d, want %d", got, want)
	}
}
