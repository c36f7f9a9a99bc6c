package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/app"
	"github.com/atrium-portal/atrium/internal/config"
)

// TestHelperCLI runs the command line in a child process of
// TestBackupKilled; it does nothing in a normal test run.
func TestHelperCLI(t *testing.T) {
	if os.Getenv("ATRIUM_CLI_HELPER") != "1" {
		t.Skip("runs only as the child process of TestBackupKilled")
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	os.Exit(run(context.Background(), args, os.Stdout, os.Stderr))
}

// TestBackupKilled: `atrium backup` killed with SIGKILL while it writes
// leaves no backup that restore or retention would take; the next backup
// succeeds and restores.
func TestBackupKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 64 MB database")
	}
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "app-config.yaml")
	backups := filepath.Join(dir, "backups")
	dbPath := filepath.Join(dir, "atrium.db")
	yaml := "backend:\n  database: { client: sqlite, connection: " + dbPath + " }\natrium:\n  dataDir: " + filepath.Join(dir, "data") + "\n  demo: false\n"
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load([]string{cfgPath}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, app.Options{NoServer: true})
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	// Incompressible rows make the archive slow enough to be caught midway.
	raw, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec("CREATE TABLE filler (b BLOB)"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	for i := 0; i < 64; i++ {
		_, _ = rand.Read(buf)
		if _, err := raw.Exec("INSERT INTO filler VALUES (?)", buf); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperCLI$", "--", "backup", "--config", cfgPath, "--to", backups, "--quiet")
	cmd.Env = append(os.Environ(), "ATRIUM_CLI_HELPER=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once the partial archive has grown past 1 MB.
	killed := false
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		matches, _ := filepath.Glob(filepath.Join(backups, ".atrium-backup-*.partial"))
		if len(matches) == 1 {
			if st, err := os.Stat(matches[0]); err == nil && st.Size() > 1<<20 {
				_ = cmd.Process.Signal(syscall.SIGKILL)
				killed = true
				break
			}
		}
	}
	_ = cmd.Wait()
	if !killed {
		t.Fatal("the backup finished before it could be killed")
	}
	entries, _ := os.ReadDir(backups)
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			t.Errorf("after SIGKILL the folder holds %s, which looks complete", e.Name())
		}
	}
	code, _, errOut := runCLI(t, "restore", "--config", cfgPath, "--from", backups, "--quiet")
	if code != 1 || !strings.Contains(errOut, "no backups in") {
		t.Errorf("restore after a killed backup: got %d %q", code, errOut)
	}
	code, out, errOut := runCLI(t, "backup", "--config", cfgPath, "--to", backups, "--quiet")
	if code != 0 {
		t.Fatalf("backup after the killed one: got %d %q %q", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "restore", "--config", cfgPath, "--from", backups, "--quiet")
	if code != 0 || !strings.Contains(out, "restored the backup of") {
		t.Errorf("restore: got %d %q %q", code, out, errOut)
	}
}
