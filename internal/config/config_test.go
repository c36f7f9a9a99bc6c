package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadDefault(t *testing.T) {
	cfg, err := Load(nil, nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"listen", cfg.Backend.Listen.Addr(), "127.0.0.1:7007"},
		{"engine", cfg.Backend.Database.Engine, EngineSQLite},
		{"path", cfg.Backend.Database.Path, "./.atrium/atrium.db"},
		{"demo", cfg.Atrium.Demo, true},
		{"orphan", cfg.Catalog.OrphanStrategy, "delete"},
		{"interval", cfg.Catalog.ProcessingInterval, 2 * time.Minute},
		{"types", strings.Join(cfg.Atrium.AllowedLocationTypes, ","), "file,url"},
		{"rules set", cfg.Catalog.RulesSet, true},
		{"sources", cfg.Sources[0], DefaultSource},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestLoadMergeAndSubstitute(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, dir, "a.yaml", `
backend:
  baseUrl: http://portal.example.com/
  listen: { host: 0.0.0.0, port: 7007 }
  database:
    client: pg
    connection: ${PG_URL}
    pool: { max: 8 }
    statementTimeout: 5s
    lookupBatch: 16
catalog:
  locations:
    - type: file
      target: ./a.yaml
  orphanStrategy: keep
atrium:
  limits:
    maxEntityBytes: 2MiB
    requestTimeout: { seconds: 30 }
`)
	b := writeFile(t, dir, "b.yaml", `
backend:
  listen:
    port: ${PORT:-9000}
catalog:
  processingInterval: false
  locations:
    - type: url
      target: https://example.com/catalog-info.yaml
      rules:
        - allow: [Component]
`)
	cfg, err := Load([]string{a, b}, map[string]string{"PG_URL": "postgres://u@db/x"})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"baseUrl", cfg.Backend.BaseURL, "http://portal.example.com"},
		{"listen", cfg.Backend.Listen.Addr(), "0.0.0.0:9000"},
		{"engine", cfg.Backend.Database.Engine, EnginePostgres},
		{"dsn", cfg.Backend.Database.DSN, "postgres://u@db/x"},
		{"pool", cfg.Backend.Database.PoolMax, 8},
		{"timeout", cfg.Backend.Database.StatementTimeout, 5 * time.Second},
		{"lookup batch", cfg.Backend.Database.LookupBatch, 16},
		{"locations", len(cfg.Catalog.Locations), 1},
		{"location type", cfg.Catalog.Locations[0].Type, "url"},
		{"location rules", cfg.Catalog.Locations[0].Rules[0].Allow[0], "Component"},
		{"orphan", cfg.Catalog.OrphanStrategy, "keep"},
		{"disabled", cfg.Catalog.ProcessingDisabled, true},
		{"entity bytes", cfg.Atrium.Limits.MaxEntityBytes, int64(2 << 20)},
		{"request timeout", cfg.Atrium.Limits.RequestTimeout, 30 * time.Second},
		{"rules set", cfg.Catalog.RulesSet, false},
		{"demo", cfg.Atrium.Demo, false},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestLoadEnvOverrides(t *testing.T) {
	env := map[string]string{
		"APP_CONFIG_backend_listen_port":         "8080",
		"APP_CONFIG_catalog_readonly":            "true",
		"APP_CONFIG_backend_database_client":     "pg",
		"APP_CONFIG_backend_database_connection": `{"host":"db","port":5433,"user":"atrium","password":"p@ss","database":"cat","ssl":false}`,
	}
	cfg, err := LoadBytes("app-config.yaml", []byte("backend:\n  listen:\n    host: 127.0.0.1\n    port: 7007\n"), env)
	if err != nil {
		t.Fatalf("LoadBytes: %v", err)
	}
	if got, want := cfg.Backend.Listen.Addr(), "127.0.0.1:8080"; got != want {
		t.Errorf("listen: got %v, want %v", got, want)
	}
	if !cfg.Catalog.Readonly {
		t.Errorf("readonly: got false, want true")
	}
	if got, want := cfg.Backend.Database.DSN, "postgres://atrium:p%40ss@db:5433/cat?sslmode=disable"; got != want {
		t.Errorf("dsn: got %v, want %v", got, want)
	}
}

func TestListenString(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{`":7007"`, ":7007"},
		{`"127.0.0.1:9999"`, "127.0.0.1:9999"},
		{`8080`, ":8080"},
	}
	for _, tt := range tests {
		cfg, err := LoadBytes("c.yaml", []byte("backend:\n  listen: "+tt.in+"\n"), nil)
		if err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		if got := cfg.Backend.Listen.Addr(); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestSQLiteConnection(t *testing.T) {
	tests := []struct {
		yaml, want string
	}{
		{"connection: ':memory:'", ":memory:"},
		{"connection: /var/lib/atrium/db.sqlite", "/var/lib/atrium/db.sqlite"},
		{"connection: { directory: /data }", "/data/atrium.db"},
		{"connection: { filename: x.db }", "x.db"},
		{"client: sqlite3", ".atrium/atrium.db"},
	}
	for _, tt := range tests {
		cfg, err := LoadBytes("c.yaml", []byte("backend:\n  database:\n    "+tt.yaml+"\n"), nil)
		if err != nil {
			t.Fatalf("%s: %v", tt.yaml, err)
		}
		if got := cfg.Backend.Database.Path; got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.yaml, got, tt.want)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		want []string
	}{
		{"unknown key", "catalog:\n  orphanStratgy: keep\n", nil,
			[]string{`app-config.yaml:2: catalog.orphanStratgy: unknown key (did you mean "orphanStrategy"?)`}},
		{"unknown top", "catalgo: {}\n", nil, []string{"app-config.yaml:1: catalgo: unknown key"}},
		{"undefined var", "backend:\n  baseUrl: ${BASE_URL}\n", nil,
			[]string{"app-config.yaml:2: backend.baseUrl: environment variable BASE_URL is not set"}},
		{"bad port", "backend:\n  listen:\n    port: seventy\n", nil,
			[]string{`app-config.yaml:3: backend.listen.port: must be a whole number, got "seventy"`}},
		{"port range", "backend:\n  listen:\n    port: 70000\n", nil,
			[]string{"app-config.yaml:3: backend.listen.port: must be between 0 and 65535, got 70000"}},
		{"bad orphan", "catalog:\n  orphanStrategy: sometimes\n", nil,
			[]string{`app-config.yaml:2: catalog.orphanStrategy: must be one of keep, delete, got "sometimes"`}},
		{"bad client", "backend:\n  database:\n    client: mysql\n", nil,
			[]string{`app-config.yaml:3: backend.database.client: must be better-sqlite3`}},
		{"lookup batch range", "backend:\n  database:\n    lookupBatch: 0\n", nil,
			[]string{"app-config.yaml:3: backend.database.lookupBatch: must be between 1 and 1000, got 0"}},
		{"pg without connection", "backend:\n  database:\n    client: pg\n", nil,
			[]string{"backend.database.connection: required when backend.database.client is pg"}},
		{"bad location", "catalog:\n  locations:\n    - type: git\n      target: x\n", nil,
			[]string{`app-config.yaml:3: catalog.locations[0].type: must be file or url, got "git"`}},
		{"missing target", "catalog:\n  locations:\n    - type: file\n", nil,
			[]string{"app-config.yaml:3: catalog.locations[0]: target is required"}},
		{"exact and pattern", "catalog:\n  rules:\n    - allow: [User]\n      locations:\n        - { type: url, exact: a, pattern: b }\n", nil,
			[]string{"app-config.yaml:5: catalog.rules[0].locations[0]: give exact or pattern, not both"}},
		{"bad kind", "catalog:\n  rules:\n    - allow:\n        - Component\n        - 'not a kind'\n", nil,
			[]string{`app-config.yaml:5: catalog.rules[0].allow[1]: "not a kind" is not a kind`}},
		{"bad duration", "catalog:\n  processingInterval: soon\n", nil,
			[]string{`app-config.yaml:2: catalog.processingInterval: must be a duration`}},
		{"bad duration unit", "catalog:\n  processingInterval: { minuets: 3 }\n", nil,
			[]string{`catalog.processingInterval.minuets: unknown key (did you mean "minutes"?)`}},
		{"wrong type", "catalog:\n  readonly: [true]\n", nil,
			[]string{"app-config.yaml:2: catalog.readonly: must be true or false, got a list"}},
		{"duplicate key", "catalog:\n  readonly: true\n  readonly: false\n", nil,
			[]string{`app-config.yaml:3: duplicate key "readonly"`}},
		{"two problems", "catalog:\n  readonly: maybe\natrium:\n  limits:\n    maxPageSize: 0\n", nil,
			[]string{"catalog.readonly: must be true or false", "atrium.limits.maxPageSize: must be between 1 and 100000, got 0"}},
		{"env bad value", "", map[string]string{"APP_CONFIG_backend_listen_port": "x"},
			[]string{`environment APP_CONFIG_backend_listen_port: backend.listen.port: must be a whole number, got "x"`}},
		{"env unknown key", "", map[string]string{"APP_CONFIG_backend_lisen_port": "1"},
			[]string{`environment APP_CONFIG_backend_lisen_port: backend.lisen: unknown key`}},
		{"bad yaml", "catalog: [\n", nil, []string{"app-config.yaml: "}},
		{"top level list", "- a\n", nil, []string{"app-config.yaml:1: the top level must be an object"}},
		{"alias bomb", aliasBomb(), nil, []string{"too many aliases"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadBytes("app-config.yaml", []byte(tt.yaml), tt.env)
			if err == nil {
				t.Fatalf("got no error, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got %v, want it to contain %q", err, w)
				}
			}
		})
	}
}

func aliasBomb() string {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	return b.String()
}

func TestBackstageKeysIgnored(t *testing.T) {
	cfg, err := LoadBytes("app-config.yaml", []byte("app:\n  title: Portal\nbackend:\n  cache:\n    store: memory\n"), nil)
	if err != nil {
		t.Fatalf("LoadBytes: %v", err)
	}
	if got, want := len(cfg.Warnings), 2; got != want {
		t.Fatalf("warnings: got %v, want %v", cfg.Warnings, want)
	}
}

func TestExpand(t *testing.T) {
	env := map[string]string{"A": "1", "EMPTY": ""}
	tests := []struct {
		in, want string
	}{
		{"x${A}y", "x1y"},
		{"${B:-dflt}", "dflt"},
		{"${EMPTY:-dflt}", "dflt"},
		{"${EMPTY}", ""},
		{"$${A}", "${A}"},
		{"${A}${A}", "11"},
	}
	for _, tt := range tests {
		got, err := expand(tt.in, env)
		if err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		if got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.in, got, tt.want)
		}
	}
	for _, bad := range []string{"${", "${1A}", "${MISSING}"} {
		if _, err := expand(bad, env); err == nil {
			t.Errorf("%s: got no error, want one", bad)
		}
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"90s", 90 * time.Second},
		{"PT30M", 30 * time.Minute},
		{"P1DT2H", 26 * time.Hour},
		{"PT1.5S", 1500 * time.Millisecond},
	}
	for _, tt := range tests {
		got, err := parseDuration(tt.in)
		if err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		if got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.in, got, tt.want)
		}
	}
	for _, bad := range []string{"P", "PT", "-5s", "5 minutes"} {
		if _, err := parseDuration(bad); err == nil {
			t.Errorf("%s: got no error, want one", bad)
		}
	}
}

// loadCase loads yaml as the file "test". With wantErr set it checks that
// loading fails with an error containing it and returns nil; otherwise it
// returns the configuration, failing the test on an error.
func loadCase(t *testing.T, yaml, wantErr string) *Config {
	t.Helper()
	cfg, err := LoadBytes("test", []byte(yaml), nil)
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("got error %v, want one containing %q", err, wantErr)
		}
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
