package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/internal/app"
	"github.com/atrium-portal/atrium/internal/audit"
	"github.com/atrium-portal/atrium/internal/config"
)

// TestBackupRestoreCLI: `atrium backup` writes an archive with progress,
// `atrium restore` brings the database back to it, and `atrium audit
// verify` passes afterwards.
func TestBackupRestoreCLI(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "app-config.yaml")
	backups := filepath.Join(dir, "backups")
	yaml := "backend:\n  database: { client: sqlite, connection: " + filepath.Join(dir, "atrium.db") + " }\natrium:\n  dataDir: " + filepath.Join(dir, "data") + "\n  demo: false\n"
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	appendEvents := func(n int) {
		t.Helper()
		cfg, err := config.Load([]string{cfgPath}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		a, err := app.New(ctx, cfg, app.Options{NoServer: true})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		for i := 0; i < n; i++ {
			if _, err := a.Audit().Append(ctx, audit.Event{Actor: audit.Actor{Ref: "user:default/jane"}, Action: "catalog.location.create", Outcome: audit.Succeeded}); err != nil {
				t.Fatal(err)
			}
		}
	}
	appendEvents(3)

	code, out, errOut := runCLI(t, "backup", "--config", cfgPath, "--to", backups, "--keep", "3")
	if code != 0 || !regexp.MustCompile(`^backup atrium-backup-\d{8}T\d{6}\.\d{3}Z\.tar\.gz: \d+ bytes to `).MatchString(out) {
		t.Fatalf("backup: got %d %q %q", code, out, errOut)
	}
	if !strings.Contains(errOut, "backup") {
		t.Errorf("backup progress: got stderr %q", errOut)
	}
	entries, _ := os.ReadDir(backups)
	if len(entries) != 1 {
		t.Fatalf("backup folder: got %d entries, want 1", len(entries))
	}

	// Records added after the backup disappear with the restore; the chain
	// stays intact (the backup's own record, added after its snapshot,
	// goes too, and the restore's record follows).
	appendEvents(2)
	code, out, errOut = runCLI(t, "restore", "--config", cfgPath, "--from", backups, "--quiet")
	if code != 0 || !strings.Contains(out, "restored the backup of") {
		t.Fatalf("restore: got %d %q %q", code, out, errOut)
	}
	code, out, _ = runCLI(t, "audit", "verify", "--config", cfgPath)
	if code != 0 || !strings.Contains(out, "audit log intact: 4 records checked (1 to 4)") {
		t.Errorf("audit verify after restore: got %d %q", code, out)
	}
	// The history of backups stays with the database restored into.
	cfg, err := config.Load([]string{cfgPath}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, app.Options{NoServer: true})
	if err != nil {
		t.Fatal(err)
	}
	st, err := a.BackupStatus(context.Background())
	a.Close()
	if err != nil || st.LastSuccess == nil || st.LastSuccess.Trigger != "cli" {
		t.Errorf("backup status after restore: got %+v, %v; want the backup taken before", st, err)
	}

	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"backup"}, 2, "backup needs --config FILE"},
		{[]string{"backup", "--config", cfgPath, "--keep", "-1"}, 2, "--keep must be at least 1"},
		{[]string{"backup", "--config", cfgPath, "--to", "s3://bucket"}, 1, "want a folder or azblob://"},
		{[]string{"restore", "--config", cfgPath, "--from", backups, "--backup", "latest.tar.gz"}, 1, `"latest.tar.gz" is not a backup name`},
		{[]string{"restore", "--config", cfgPath, "--from", filepath.Join(dir, "empty")}, 1, "no backups in"},
		{[]string{"restore", "extra"}, 2, "restore needs --config FILE"},
	} {
		code, _, errOut := runCLI(t, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.stderr) {
			t.Errorf("%v: got %d %q, want %d and %q", tc.args, code, errOut, tc.code, tc.stderr)
		}
	}
}

// TestVersion: the version, the commit and the Go version, from -ldflags
// when given.
func TestVersion(t *testing.T) {
	code, out, _ := runCLI(t, "version")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[0], "atrium ") || !strings.HasPrefix(lines[1], "commit ") || !strings.HasPrefix(lines[2], runtime.Version()+" ") {
		t.Fatalf("version: got %d %q", code, out)
	}
	defer func(v, c string) { buildVersion, buildCommit = v, c }(buildVersion, buildCommit)
	buildVersion, buildCommit = "v1.4.0", "0123abcd"
	_, out, _ = runCLI(t, "version")
	if want := "atrium v1.4.0\ncommit 0123abcd\n" + runtime.Version(); !strings.HasPrefix(out, want) {
		t.Errorf("version with -ldflags: got %q, want prefix %q", out, want)
	}
	if got := versionString(); got != "v1.4.0" {
		t.Errorf("versionString: got %q", got)
	}
}
