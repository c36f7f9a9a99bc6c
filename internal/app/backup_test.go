package app_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/app"
	"github.com/atrium-portal/atrium/internal/app/apptest"
	"github.com/atrium-portal/atrium/internal/audit"
	"github.com/atrium-portal/atrium/internal/backup"
	"github.com/atrium-portal/atrium/internal/config"
	"github.com/atrium-portal/atrium/internal/store"
)

// TestBackupRoundTrip: entities, locations, a finished task with its git
// repository, an API token and audit records survive backup → a fresh
// database → restore, and the audit chain still verifies.
func TestBackupRoundTrip(t *testing.T) {
	for _, db := range apptest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) { testBackupRoundTrip(t, db.Name) })
	}
}

// backupConfig returns the configuration of the scaffolder's test catalog
// (files) on a fresh database, SQLite in a new folder or a new PostgreSQL
// database, and its data folder.
func backupConfig(t *testing.T, files, engine string) (yaml, dataDir string) {
	t.Helper()
	dir := t.TempDir()
	dataDir = filepath.Join(dir, "data")
	db := fmt.Sprintf("{ client: sqlite, connection: %q }", filepath.Join(dir, "atrium.db"))
	if engine == "postgres" {
		db = "{ client: pg, connection: '" + apptest.PostgresDSN(t) + "' }"
	}
	return fmt.Sprintf(`backend:
  database: %s
catalog:
  rules: [{ allow: [Component, Group, User, Location, Template, System, API, Resource, Domain] }]
  locations: [{ type: file, target: %q }]
atrium:
  dataDir: %q
  allowedLocationTypes: [file, url]
  scaffolder: { staleTaskAfter: 2s }
`, db, filepath.Join(files, "all.yaml"), dataDir), dataDir
}

// offline opens the App described by configYAML without a server, as the
// CLI does.
func offline(t *testing.T, configYAML string) *app.App {
	t.Helper()
	f := filepath.Join(t.TempDir(), "offline.yaml")
	if err := os.WriteFile(f, []byte(configYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load([]string{f}, map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, app.Options{NoServer: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Version: "v0.0.0-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// snapshot is what the round trip compares.
type snapshot struct {
	entities, locations, task string
}

func takeSnapshot(t *testing.T, c sclient, refs []string, taskID string) snapshot {
	t.Helper()
	var s snapshot
	status, body := c.do("POST", "/api/catalog/entities/by-refs", map[string]any{"entityRefs": refs})
	if status != 200 {
		t.Fatalf("by-refs: got %d %s", status, body)
	}
	s.entities = string(body)
	status, body = c.do("GET", "/api/catalog/locations", nil)
	if status != 200 {
		t.Fatalf("locations: got %d %s", status, body)
	}
	s.locations = string(body)
	status, body = c.do("GET", "/api/scaffolder/v2/tasks/"+taskID, nil)
	if status != 200 {
		t.Fatalf("task: got %d %s", status, body)
	}
	s.task = string(body)
	return s
}

func bearer(t *testing.T, base, token, path string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func createToken(t *testing.T, c sclient, name string) string {
	t.Helper()
	var tok struct{ Token string }
	c.json("POST", "/api/auth/tokens", map[string]any{"name": name}, 201, &tok)
	if tok.Token == "" {
		t.Fatal("POST /api/auth/tokens returned no token")
	}
	return tok.Token
}

func testBackupRoundTrip(t *testing.T, engine string) {
	ctx := context.Background()
	files := t.TempDir()
	apptest.WriteFilesTo(t, files, scaffolderFiles)
	backups := t.TempDir()
	cfgA, _ := backupConfig(t, files, engine)

	// The original: the catalog, a registered location and a finished task
	// (publish:git writes a repository under the data folder), a token.
	srvA := apptest.StartServer(t, cfgA)
	c := sclient{t: t, base: srvA.BaseURL}
	var created struct{ ID string }
	c.json("POST", "/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/service",
		"values": map[string]any{"name": "billing", "owner": "group:default/platform"}}, 201, &created)
	c.waitDone(created.ID)
	token := createToken(t, c, "before-backup")
	if got := bearer(t, srvA.BaseURL, token, "/api/auth/tokens"); got != 200 {
		t.Fatalf("token before the backup: got %d", got)
	}
	refs := []string{"group:default/platform", "template:default/service", "template:default/slow", "template:default/local", "component:default/billing", "location:default/all"}
	before := takeSnapshot(t, c, refs, created.ID)
	if !strings.Contains(before.entities, `"billing"`) || !strings.Contains(before.task, `"completed"`) {
		t.Fatalf("setup: entities %s, task %s", before.entities, before.task)
	}
	res, err := srvA.App.Backup(ctx, app.BackupOptions{To: backups, Trigger: app.TriggerCLI})
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	if res.Manifest.Rows("entities") < int64(len(refs)) || res.Manifest.Rows("audit_events") < 1 || res.Manifest.Rows("scaffolder_tasks") != 1 {
		t.Errorf("manifest row counts: got %+v", res.Manifest.Tables)
	}
	// PostgreSQL's entity change log is derived (and names the source
	// database's transactions): left out. SQLite's is part of the file.
	for _, name := range []string{"entity_changes", "entity_changes_pruned"} {
		if n := res.Manifest.Rows(name); engine == "postgres" && n >= 0 {
			t.Errorf("the backup holds the derived table %s (%d rows)", name, n)
		}
	}
	totalBefore := totalItems(t, c)
	members := map[string]bool{}
	for _, m := range res.Manifest.Members {
		members[m.Name] = true
	}
	if !members["data/git.tar"] {
		t.Errorf("manifest members: got %v, want the git repositories", res.Manifest.Members)
	}
	st, err := srvA.App.BackupStatus(ctx)
	if err != nil || st.LastSuccess == nil || st.LastSuccess.Name != res.Name {
		t.Errorf("backup status: got %+v, %v", st, err)
	}
	// A token made after the backup must not survive the restore.
	later := createToken(t, c, "after-backup")
	srvA.Stop()

	// A fresh database, with a server running on it: restore refuses.
	cfgB, dataB := backupConfig(t, files, engine)
	srvB := apptest.StartServer(t, cfgB)
	if got := bearer(t, srvB.BaseURL, token, "/api/auth/tokens"); got != 401 {
		t.Fatalf("token on the fresh database: got %d, want 401", got)
	}
	offB := offline(t, cfgB)
	deadline := time.Now().Add(20 * time.Second)
	for {
		running, err := offB.ServerRunning(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the running server is not detected")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, err := offB.Restore(ctx, app.RestoreOptions{From: backups}); !errors.Is(err, backup.ErrServerRunning) {
		t.Fatalf("restore under a running server: got %v, want %v", err, backup.ErrServerRunning)
	}
	srvB.Stop()

	// Stopped: restore, then start on the restored database.
	m, err := offB.Restore(ctx, app.RestoreOptions{From: backups, Backup: res.Name, Yes: true})
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	if m.Created != res.Manifest.Created {
		t.Errorf("restored backup: got %v, want %v", m.Created, res.Manifest.Created)
	}
	offB.Close()
	srvC := apptest.StartServer(t, cfgB)
	after := takeSnapshot(t, sclient{t: t, base: srvC.BaseURL}, refs, created.ID)
	if after.entities != before.entities {
		t.Errorf("entities after restore:\n got %s\nwant %s", after.entities, before.entities)
	}
	if after.locations != before.locations {
		t.Errorf("locations after restore:\n got %s\nwant %s", after.locations, before.locations)
	}
	if after.task != before.task {
		t.Errorf("task after restore:\n got %s\nwant %s", after.task, before.task)
	}
	// Counting reads the change log, which the restore wrote itself.
	if got := totalItems(t, sclient{t: t, base: srvC.BaseURL}); got != totalBefore {
		t.Errorf("entities counted after restore: got %d, want %d", got, totalBefore)
	}
	if got := bearer(t, srvC.BaseURL, token, "/api/auth/tokens"); got != 200 {
		t.Errorf("token from before the backup: got %d, want 200", got)
	}
	if got := bearer(t, srvC.BaseURL, later, "/api/auth/tokens"); got != 401 {
		t.Errorf("token made after the backup: got %d, want 401", got)
	}
	if _, err := os.Stat(filepath.Join(dataB, "git", "platform", "billing")); err != nil {
		t.Errorf("restored git repository: %v", err)
	}
	rep, err := srvC.App.Audit().Verify(ctx)
	if err != nil || !rep.OK() {
		t.Errorf("audit verify after restore: %+v, %v", rep, err)
	}
	// The restore itself is audited.
	page, err := srvC.App.Audit().List(ctx, audit.Query{AuditListParams: store.AuditListParams{Action: "atrium.backup.restore"}})
	if err != nil || len(page.Items) != 1 || page.Items[0].Resource != res.Name {
		t.Errorf("restore audit record: got %+v, %v", page.Items, err)
	}
}

// TestBackupCorrupt: a flipped byte, a truncated archive and a backup of
// the other engine are refused before anything is touched, naming what
// is wrong.
func TestBackupCorrupt(t *testing.T) {
	ctx := context.Background()
	files := t.TempDir()
	apptest.WriteFilesTo(t, files, scaffolderFiles)
	backups := t.TempDir()
	cfg, _ := backupConfig(t, files, "sqlite")
	srv := apptest.StartServer(t, cfg)
	res, err := srv.App.Backup(ctx, app.BackupOptions{To: backups, Trigger: app.TriggerCLI})
	if err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	archive := filepath.Join(backups, res.Name)
	good, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}

	off := offline(t, cfg)
	// An entity deleted after the backup shows whether a restore ran.
	count := func() int {
		counts, err := off.Store().EntityCount(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, c := range counts {
			n += c
		}
		return n
	}
	if err := off.Store().EntityDelete(ctx, []string{"template:default/slow"}); err != nil {
		t.Fatal(err)
	}
	want := count()
	cases := []struct {
		name    string
		mutate  func([]byte) []byte
		message []string
	}{
		{"flipped byte in the database member", func(b []byte) []byte {
			return flipInMember(t, b, "sqlite/atrium.db")
		}, []string{"damaged", "member sqlite/atrium.db"}},
		{"truncated", func(b []byte) []byte { return slices.Clone(b[:len(b)*2/3]) }, []string{"damaged", "member sqlite/atrium.db"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(archive, tc.mutate(good), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := off.Restore(ctx, app.RestoreOptions{From: backups, Yes: true})
			if err == nil {
				t.Fatal("restore of a damaged archive succeeded")
			}
			for _, m := range tc.message {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not say %q", err, m)
				}
			}
			if got := count(); got != want {
				t.Errorf("entities after a refused restore: got %d, want %d", got, want)
			}
		})
	}

	// A SQLite backup does not restore into PostgreSQL (and vice versa).
	if dsn := apptest.PostgresDSN(t); dsn != "" {
		if err := os.WriteFile(archive, good, 0o600); err != nil {
			t.Fatal(err)
		}
		pg := offline(t, "backend:\n  database:\n    client: pg\n    connection: '"+dsn+"'\natrium:\n  dataDir: "+filepath.Join(t.TempDir(), "data")+"\n")
		_, err := pg.Restore(ctx, app.RestoreOptions{From: backups})
		if err == nil || !strings.Contains(err.Error(), "of a sqlite database") {
			t.Errorf("sqlite backup into postgres: got %v", err)
		}
	}

	// Not a backup name.
	if _, err := off.Restore(ctx, app.RestoreOptions{From: backups, Backup: "../etc/passwd"}); err == nil || !strings.Contains(err.Error(), "not a backup name") {
		t.Errorf("bad --backup: got %v", err)
	}
	// An empty folder.
	if _, err := off.Restore(ctx, app.RestoreOptions{From: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "no backups in") {
		t.Errorf("empty folder: got %v", err)
	}
}

// TestBackupRetention: --keep leaves the newest N, and a partial file of a
// backup cut short is never listed.
func TestBackupRetention(t *testing.T) {
	ctx := context.Background()
	backups := t.TempDir()
	srv := apptest.StartServer(t, "")
	// A backup killed while writing leaves only its hidden partial file.
	partial := filepath.Join(backups, "."+backup.Name(time.Now().Add(time.Hour))+".partial")
	if err := os.WriteFile(partial, []byte("cut short"), 0o600); err != nil {
		t.Fatal(err)
	}
	var names []string
	for i := 0; i < 4; i++ {
		res, err := srv.App.Backup(ctx, app.BackupOptions{To: backups, Keep: 2, Trigger: app.TriggerCLI})
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, res.Name)
		time.Sleep(5 * time.Millisecond)
	}
	list, err := (&backup.Dir{Path: backups}).List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range list {
		got = append(got, b.Name)
	}
	slices.Sort(got)
	if want := names[2:]; !slices.Equal(got, want) {
		t.Errorf("kept: got %v, want %v", got, want)
	}
}

// TestBackupsPage: /settings/backups shows the target, the schedule, the
// last success and failure and the stored backups, to principals allowed
// atrium.admin.operations.read only; each run is audited.
func TestBackupsPage(t *testing.T) {
	ctx := context.Background()
	backups := t.TempDir()
	const token = "ci-backups-token-0123456789"
	srv := apptest.StartServer(t, fmt.Sprintf(`backend:
  auth:
    externalAccess:
      - type: static
        options: { token: %s, subject: ci }
atrium:
  backup: { to: %q, schedule: 12h, keep: 5 }
`, token, backups))
	res, err := srv.App.Backup(ctx, app.BackupOptions{Trigger: app.TriggerCLI})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.App.Backup(ctx, app.BackupOptions{To: "azblob://acct/c", Trigger: app.TriggerCLI}); err == nil {
		t.Fatal("a backup to Azure without credentials succeeded")
	}
	if got := bearer(t, srv.BaseURL, token, "/settings/backups"); got != 403 {
		t.Errorf("/settings/backups as service:ci: got %d, want 403", got)
	}
	status, body := sclient{t: t, base: srv.BaseURL}.do("GET", "/settings/backups", nil)
	if status != 200 {
		t.Fatalf("/settings/backups: got %d", status)
	}
	page := string(body)
	for _, want := range []string{backups, "every 12h0m0s, keeping the newest 5", `id="backup-last-success"`, res.Name, "needs atrium.backup.azure.accountKey or sasToken"} {
		if !strings.Contains(page, want) {
			t.Errorf("/settings/backups lacks %q", want)
		}
	}
	list, err := srv.App.Audit().List(ctx, audit.Query{AuditListParams: store.AuditListParams{Action: "atrium.backup.create"}})
	if err != nil {
		t.Fatal(err)
	}
	var outcomes []string
	for _, e := range list.Items {
		outcomes = append(outcomes, string(e.Outcome))
	}
	slices.Sort(outcomes)
	if !slices.Equal(outcomes, []string{"failed", "succeeded"}) {
		t.Errorf("audited backups: got %v, want one failed and one succeeded", outcomes)
	}
}

// flipInMember returns a copy of a .tar.gz archive in which one byte in the
// middle of the named member's content is changed, the archive otherwise
// intact (so the damage is found by the member's checksum, every time).
func flipInMember(t *testing.T, archive []byte, member string) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	tw := tar.NewWriter(zw)
	found := false
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Name == member && len(body) > 0 {
			body[len(body)/2] ^= 0x5a
			found = true
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	if !found {
		t.Fatalf("the archive has no member %s", member)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// totalItems is the catalog's entity count as by-query reports it.
func totalItems(t *testing.T, c sclient) int {
	t.Helper()
	status, body := c.do("GET", "/api/catalog/entities/by-query?limit=0", nil)
	if status != 200 {
		t.Fatalf("by-query: got %d %s", status, body)
	}
	var page struct {
		TotalItems int `json:"totalItems"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		t.Fatal(err)
	}
	return page.TotalItems
}
