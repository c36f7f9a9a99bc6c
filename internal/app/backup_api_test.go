package app_test

import (
	"context"
	"database/sql"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/atrium-portal/atrium/internal/app/apptest"
	"github.com/atrium-portal/atrium/internal/audit"
	"github.com/atrium-portal/atrium/internal/backup"
	"github.com/atrium-portal/atrium/internal/store"
)

// backupRun is a run as GET /api/atrium/backups/{id} answers it.
type backupRun struct {
	ID         int64  `json:"id"`
	Kind       string `json:"kind"`
	Trigger    string `json:"trigger"`
	State      string `json:"state"`
	Name       string `json:"name"`
	Target     string `json:"target"`
	Size       int64  `json:"size"`
	Error      string `json:"error"`
	DurationMs int64  `json:"durationMs"`
}

// runLogOf opens the server's backup_runs table directly, to hold a
// backup "running" for as long as a test needs.
func runLogOf(t *testing.T, srv *apptest.Server) backup.RunLog {
	t.Helper()
	switch db := srv.App.Store().(type) {
	case interface{ JobsDB() *sql.DB }:
		return backup.NewSQLiteRunLog(db.JobsDB())
	case interface{ JobsPool() *pgxpool.Pool }:
		return backup.NewPostgresRunLog(db.JobsPool())
	}
	t.Fatalf("the %s store keeps no backup runs", srv.App.Store().Engine())
	return nil
}

// waitRun polls GET /api/atrium/backups/{id} until the run is no longer
// running.
func waitRun(t *testing.T, c apptest.Client, id int64) backupRun {
	t.Helper()
	var run backupRun
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		c.JSON("GET", fmt.Sprintf("/api/atrium/backups/%d", id), nil, http.StatusOK, &run)
		if run.State != backup.StateRunning {
			return run
		}
		if time.Now().After(deadline) {
			t.Fatalf("backup run %d still running after a minute", id)
		}
	}
}

// TestBackupAPI: POST /api/atrium/backups queues a backup (202, the run
// id), refuses a second one while one runs (409), and GET shows its
// history; only holders of the operations permissions may, and the start
// is audited with who asked.
func TestBackupAPI(t *testing.T) {
	for _, db := range apptest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) { testBackupAPI(t, db.YAML) })
	}
}

func testBackupAPI(t *testing.T, dbYAML string) {
	ctx := context.Background()
	backups := t.TempDir()
	const token = "ci-backup-api-token-0123456789"
	srv := apptest.StartServer(t, fmt.Sprintf(`backend:
  auth:
    externalAccess:
      - type: static
        options: { token: %s, subject: ci }
%satrium:
  backup: { enabled: false, to: %q }
`, token, strings.TrimPrefix(dbYAML, "backend:\n"), backups))
	guest := apptest.Client{T: t, Base: srv.BaseURL}

	// Another backup (say, the CLI's) is running: the API refuses.
	runs := runLogOf(t, srv)
	other, err := runs.Start(ctx, backup.Run{Kind: "backup", Trigger: "cli", Target: backups, Started: time.Now().UTC()})
	if err != nil {
		t.Fatal(err)
	}
	var refused struct {
		Error struct {
			Name    string `json:"name"`
			Message string `json:"message"`
		} `json:"error"`
	}
	guest.JSON("POST", "/api/atrium/backups", nil, http.StatusConflict, &refused)
	if want := fmt.Sprintf("a backup is already running (run %d", other); !strings.Contains(refused.Error.Message, want) {
		t.Errorf("409 message: got %q, want it to contain %q", refused.Error.Message, want)
	}
	if err := runs.Finish(ctx, backup.Run{ID: other, Kind: "backup", Trigger: "cli", Target: backups, OK: true, Finished: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}

	var started backupRun
	guest.JSON("POST", "/api/atrium/backups", nil, http.StatusAccepted, &started)
	if started.ID == 0 || started.State != backup.StateRunning || started.Trigger != "api" || started.Target != backups {
		t.Fatalf("POST /api/atrium/backups: got %+v, want a running api backup to %s", started, backups)
	}
	done := waitRun(t, guest, started.ID)
	if done.State != backup.StateSucceeded || done.Size == 0 || !backup.IsName(done.Name) || done.Error != "" {
		t.Fatalf("the queued backup: got %+v, want succeeded with a named archive", done)
	}
	list, err := (&backup.Dir{Path: backups}).List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Name != done.Name || list[0].Size != done.Size {
		t.Errorf("the target holds %+v, want just %s (%d bytes)", list, done.Name, done.Size)
	}

	var history struct {
		Items []backupRun `json:"items"`
	}
	guest.JSON("GET", "/api/atrium/backups", nil, http.StatusOK, &history)
	if len(history.Items) != 2 || history.Items[0].ID != started.ID || history.Items[1].ID != other {
		t.Fatalf("history: got %+v, want runs %d then %d", history.Items, started.ID, other)
	}
	guest.JSON("GET", "/api/atrium/backups?limit=1", nil, http.StatusOK, &history)
	if len(history.Items) != 1 {
		t.Errorf("limit=1: got %d runs", len(history.Items))
	}
	for path, want := range map[string]int{
		"/api/atrium/backups?limit=0":                http.StatusBadRequest,
		"/api/atrium/backups?limit=x":                http.StatusBadRequest,
		"/api/atrium/backups/abc":                    http.StatusBadRequest,
		"/api/atrium/backups/999999":                 http.StatusNotFound,
		fmt.Sprintf("/api/atrium/backups/%d", other): http.StatusOK,
	} {
		guest.JSON("GET", path, nil, want, nil)
	}

	// A service without the operations permissions may do neither.
	ci := apptest.Client{T: t, Base: srv.BaseURL, Token: token}
	ci.JSON("POST", "/api/atrium/backups", nil, http.StatusForbidden, nil)
	ci.JSON("GET", "/api/atrium/backups", nil, http.StatusForbidden, nil)
	ci.JSON("GET", fmt.Sprintf("/api/atrium/backups/%d", started.ID), nil, http.StatusForbidden, nil)

	// The page lists the history and offers the button.
	status, body := sclient{t: t, base: srv.BaseURL}.do("GET", "/settings/backups", nil)
	if status != 200 {
		t.Fatalf("/settings/backups: got %d", status)
	}
	for _, want := range []string{`id="backup-runs"`, `id="backup-now"`, done.Name, `data-state="succeeded"`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/settings/backups lacks %q", want)
		}
	}

	// The button posts the page's form, as a browser does.
	page := newBrowser(t)
	form := page.get(srv.BaseURL + "/settings/backups")
	if got := page.postForm(srv.BaseURL+"/settings/backups", form); got != http.StatusSeeOther {
		t.Fatalf("Back up now: got %d, want 303", got)
	}
	guest.JSON("GET", "/api/atrium/backups?limit=1", nil, http.StatusOK, &history)
	if len(history.Items) != 1 || history.Items[0].ID <= started.ID || history.Items[0].Trigger != "api" {
		t.Fatalf("after Back up now: got %+v, want a new api run", history.Items)
	}
	if run := waitRun(t, guest, history.Items[0].ID); run.State != backup.StateSucceeded {
		t.Errorf("the button's backup: got %+v", run)
	}

	events, err := srv.App.Audit().List(ctx, audit.Query{AuditListParams: store.AuditListParams{Action: "atrium.backup.start"}})
	if err != nil {
		t.Fatal(err)
	}
	var outcomes []string
	for _, e := range events.Items {
		outcomes = append(outcomes, string(e.Outcome)+" by "+e.Actor.Ref)
	}
	slices.Sort(outcomes)
	if want := []string{"failed by user:default/guest", "succeeded by user:default/guest", "succeeded by user:default/guest"}; !slices.Equal(outcomes, want) {
		t.Errorf("audited starts: got %v, want %v", outcomes, want)
	}
}

// browser keeps cookies and posts forms with the page's CSRF token.
type browser struct {
	t *testing.T
	c *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfInput = regexp.MustCompile(`name="csrf_token" value="([^"]*)"`)

// get fetches a page and returns the CSRF token of its form.
func (b *browser) get(url string) string {
	b.t.Helper()
	res, err := b.c.Get(url)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	m := csrfInput.FindSubmatch(body)
	if res.StatusCode != http.StatusOK || m == nil {
		b.t.Fatalf("GET %s: got %d without a csrf_token field", url, res.StatusCode)
	}
	return html.UnescapeString(string(m[1]))
}

// postForm posts the form with the token and returns the status.
func (b *browser) postForm(target, token string) int {
	b.t.Helper()
	req, err := http.NewRequest("POST", target, strings.NewReader(url.Values{"csrf_token": {token}}.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", strings.TrimSuffix(target, "/settings/backups"))
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}
