package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestSecretReferences(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "db-password")
	if err := os.WriteFile(file, []byte("file-s3cret-value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	yaml := `backend:
  baseUrl: ${BASE}
  database:
    client: pg
    connection: { host: db, user: atrium, password: "${file:` + file + `}", database: atrium }
  auth:
    externalAccess:
      - type: static
        options: { token: "${vault:secret/atrium#ci-token}", subject: ci }
atrium:
  audit:
    checkpointKey: ${env:AUDIT_KEY}
`
	var asked []string
	resolve := func(kind, ref string) (string, error) {
		asked = append(asked, kind+":"+ref)
		return "vault-t0ken-value", nil
	}
	path := filepath.Join(dir, "app-config.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadWith([]string{path}, Options{Env: map[string]string{"AUDIT_KEY": "env-audit-key", "BASE": "http://x.example.com"}, Resolve: resolve})
	if err != nil {
		t.Fatalf("LoadWith: %v", err)
	}
	if !strings.Contains(cfg.Backend.Database.DSN, "file-s3cret-value") {
		t.Errorf("file reference: DSN does not carry the password")
	}
	if got := cfg.Atrium.Audit.CheckpointKey; got != "env-audit-key" {
		t.Errorf("env reference: got %q, want env-audit-key", got)
	}
	if got, want := strings.Join(asked, ","), "vault:secret/atrium#ci-token"; got != want {
		t.Errorf("resolver asked: got %q, want %q", got, want)
	}
	vals := cfg.SecretValues()
	for _, want := range []string{"file-s3cret-value", "vault-t0ken-value", "env-audit-key"} {
		if !slices.Contains(vals, want) {
			t.Errorf("secret values: %q missing", want)
		}
	}
	if slices.Contains(vals, "http://x.example.com") {
		t.Errorf("secret values: baseUrl is not a secret")
	}
	if len(cfg.SecretRefs) != 3 || cfg.SecretRefs[0].Kind != "file" || cfg.SecretRefs[0].Line != 5 ||
		cfg.SecretRefs[0].Key != "backend.database.connection.password" {
		t.Errorf("refs: got %+v", cfg.SecretRefs)
	}
}

func TestSecretReferenceErrors(t *testing.T) {
	failing := func(kind, ref string) (string, error) { return "", errors.New("permission denied") }
	tests := []struct {
		name, yaml string
		resolve    Resolver
		want       string
	}{
		{"unset env", "atrium:\n  audit: { checkpointKey: '${env:NOPE}' }\n", nil, "app-config.yaml:2: atrium.audit.checkpointKey: environment variable NOPE is not set"},
		{"missing file", "atrium:\n  audit: { checkpointKey: '${file:/nonexistent/x}' }\n", nil, "reading the secret file of ${file:/nonexistent/x}: no such file or directory"},
		{"vault without resolver", "atrium:\n  audit: { checkpointKey: '${vault:secret/a#b}' }\n", nil, "need a resolver"},
		{"vault failing", "atrium:\n  audit: { checkpointKey: '${vault:secret/a#b}' }\n", failing, "resolving ${vault:secret/a#b}: permission denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load([]source{{name: "app-config.yaml", data: []byte(tt.yaml)}}, Options{Resolve: tt.resolve})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
