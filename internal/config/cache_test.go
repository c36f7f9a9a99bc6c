package config

import (
	"testing"
	"time"
)

func TestCacheKeys(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		want    Cache
		wantErr string
	}{
		{"defaults", "{}", Cache{Entities: 40 << 20, Warm: true, Answers: 16 << 20, MaxAge: 5 * time.Second}, ""},
		{"set", "atrium:\n  cache:\n    entities: 16MiB\n    warm: false\n    answers: 4MiB\n    maxAge: 2s\n", Cache{Entities: 16 << 20, Answers: 4 << 20, MaxAge: 2 * time.Second}, ""},
		{"off", "atrium:\n  cache:\n    entities: 0\n    answers: 0\n    maxAge: 0s\n", Cache{Warm: true}, ""},
		{"bad warm", "atrium:\n  cache:\n    warm: sometimes\n", Cache{}, "atrium.cache.warm"},
		{"bad size", "atrium:\n  cache:\n    entities: lots\n", Cache{}, "test:3: atrium.cache.entities"},
		{"unknown key", "atrium:\n  cache:\n    entites: 1MiB\n", Cache{}, "atrium.cache.entites"},
		{"negative age", "atrium:\n  cache:\n    maxAge: -1s\n", Cache{}, "atrium.cache.maxAge: must not be negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := loadCase(t, tc.yaml, tc.wantErr)
			if cfg == nil {
				return
			}
			if cfg.Atrium.Cache != tc.want {
				t.Fatalf("got %+v, want %+v", cfg.Atrium.Cache, tc.want)
			}
		})
	}
}
