package main

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/app"
	"github.com/atrium-portal/atrium/internal/audit"
	"github.com/atrium-portal/atrium/internal/config"
	"github.com/atrium-portal/atrium/internal/store"
)

func TestAuditVerifyAndExport(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "atrium.db")
	cfgPath := filepath.Join(dir, "app-config.yaml")
	yaml := "backend:\n  database: { client: sqlite, connection: " + db + " }\natrium:\n  dataDir: " + filepath.Join(dir, "data") + "\n  demo: false\n"
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load([]string{cfgPath}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, err := app.New(ctx, cfg, app.Options{NoServer: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"user:default/jane", "user:default/bob", "user:default/jane"} {
		if _, err := a.Audit().Append(ctx, audit.Event{Actor: audit.Actor{Ref: ref}, Action: "catalog.location.create", Outcome: audit.Succeeded}); err != nil {
			t.Fatal(err)
		}
	}
	a.Close()

	code, out, errOut := runCLI(t, "audit", "verify", "--config", cfgPath)
	if code != 0 || !strings.Contains(out, "audit log intact: 3 records checked (1 to 3)") {
		t.Fatalf("verify: got %d %q %q", code, out, errOut)
	}
	code, out, _ = runCLI(t, "audit", "export", "--config", cfgPath, "--actor", "user:default/jane")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); code != 0 || len(lines) != 2 || !strings.Contains(lines[0], `"seq":1`) {
		t.Errorf("export: got %d %q, want records 1 and 3", code, out)
	}

	raw, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range []string{"DROP TRIGGER audit_events_no_update", "UPDATE audit_events SET actor = 'user:default/eve' WHERE seq = 2"} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	code, out, _ = runCLI(t, "audit", "verify", "--config", cfgPath)
	if code != 1 || !strings.Contains(out, "audit log TAMPERED: record 2: its actor column was edited") {
		t.Errorf("verify after tampering: got %d %q", code, out)
	}
	if code, _, _ := runCLI(t, "audit", "verify"); code != 2 {
		t.Errorf("verify without --config: got exit %d, want 2", code)
	}
}

func TestSecretsRotate(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "atrium.db")
	k1 := "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=" // 32 × 0x01
	k2 := "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=" // 32 × 0x02
	write := func(keys string) string {
		p := filepath.Join(dir, "app-config.yaml")
		yaml := "backend:\n  database: { client: sqlite, connection: " + db + " }\natrium:\n  dataDir: " + filepath.Join(dir, "data") +
			"\n  demo: false\n  secrets:\n    keys:\n" + keys
		if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfgPath := write("      - { id: k1, key: " + k1 + " }\n")
	cfg, err := config.Load([]string{cfgPath}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, err := app.New(ctx, cfg, app.Options{NoServer: true})
	if err != nil {
		t.Fatal(err)
	}
	box, err := a.SecretBox()
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := box.Seal([]byte(`{"token":"glpat-xyz"}`), []byte("scaffolder-task-secrets"))
	if err != nil {
		t.Fatal(err)
	}
	task := store.Task{ID: "t1", TemplateRef: "template:default/x", Status: "open", CreatedBy: "user:default/jane",
		CreatedAt: time.Now(), Spec: []byte("{}"), State: []byte("{}"), Secrets: sealed}
	if err := a.Store().TaskCreate(ctx, task); err != nil {
		t.Fatal(err)
	}
	a.Close()

	cfgPath = write("      - { id: k1, key: " + k1 + " }\n      - { id: k2, key: " + k2 + " }\n")
	code, out, errOut := runCLI(t, "secrets", "rotate", "--config", cfgPath)
	if code != 0 || !strings.Contains(out, "scaffolder task secrets: 1 re-sealed with key k2, 0 already current") {
		t.Fatalf("rotate: got %d %q %q", code, out, errOut)
	}
	code, out, _ = runCLI(t, "secrets", "rotate", "--config", cfgPath)
	if code != 0 || !strings.Contains(out, "0 re-sealed with key k2, 1 already current") {
		t.Errorf("second rotate: got %d %q", code, out)
	}
	// The old key can go: the task's secrets open with k2 alone.
	cfgPath = write("      - { id: k2, key: " + k2 + " }\n")
	cfg, err = config.Load([]string{cfgPath}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err = app.New(ctx, cfg, app.Options{NoServer: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	got, err := a.Store().TaskGet(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	box, _ = a.SecretBox()
	pt, err := box.Open(got.Secrets, []byte("scaffolder-task-secrets"))
	if err != nil || string(pt) != `{"token":"glpat-xyz"}` {
		t.Errorf("after rotation: got %q, %v", pt, err)
	}
}
