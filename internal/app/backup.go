package app

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/atrium-portal/atrium/internal/audit"
	"github.com/atrium-portal/atrium/internal/backup"
	"github.com/atrium-portal/atrium/internal/config"
	"github.com/atrium-portal/atrium/internal/web"
	"github.com/atrium-portal/atrium/internal/web/ui"
)

// Backup triggers, recorded in backup_runs and the audit log.
const (
	TriggerCLI      = "cli"
	TriggerSchedule = "schedule"
	TriggerAPI      = "api"
)

// BackupOptions say where a backup goes.
type BackupOptions struct {
	// To is a folder or an azblob:// URL ("" is atrium.backup.to).
	To string
	// Keep is the retention (0 is atrium.backup.keep).
	Keep int
	// Trigger is TriggerCLI, TriggerSchedule or TriggerAPI.
	Trigger string
	// RunID is the backup_runs row already recorded as running (a backup
	// started through the API); 0 records a new one.
	RunID int64
	// Progress is told the archive's bytes as they are written.
	Progress io.Writer
}

// RestoreOptions say which backup to restore.
type RestoreOptions struct {
	// From is a folder or an azblob:// URL ("" is atrium.backup.to).
	From string
	// Backup names the backup; "" is the newest.
	Backup string
	// Yes allows restoring under a running server.
	Yes bool
	// Progress is told the archive's bytes as they are read.
	Progress io.Writer
}

// BackupTo returns the configured backup target location.
func (a *App) BackupTo() string {
	if to := a.cfg.Atrium.Backup.To; to != "" {
		return to
	}
	return filepath.Join(a.cfg.Atrium.DataDir, "backups")
}

func (a *App) backupTarget(to string) (backup.Target, error) {
	if to == "" {
		to = a.BackupTo()
	}
	az := a.cfg.Atrium.Backup.Azure
	return backup.OpenTarget(to, backup.AzureConfig{AccountKey: az.AccountKey, SASToken: az.SASToken, Endpoint: az.Endpoint})
}

func (a *App) backupSource() backup.Source {
	db := a.cfg.Backend.Database
	s := backup.Source{DataDir: a.cfg.Atrium.DataDir}
	switch db.Engine {
	case config.EnginePostgres:
		s.Engine, s.PostgresURL = backup.EnginePostgres, db.DSN
	default:
		s.Engine, s.SQLitePath = backup.EngineSQLite, db.Path
	}
	return s
}

// backupRuns returns the table of backup runs in the store's database.
func (a *App) backupRuns() backup.RunLog {
	switch db := a.store.(type) {
	case interface{ JobsDB() *sql.DB }:
		return backup.NewSQLiteRunLog(db.JobsDB())
	case interface{ JobsPool() *pgxpool.Pool }:
		return backup.NewPostgresRunLog(db.JobsPool())
	}
	return nil
}

// BackupStatus returns the last successful and failed backups.
func (a *App) BackupStatus(ctx context.Context) (backup.Status, error) {
	runs := a.backupRuns()
	if runs == nil {
		return backup.Status{}, fmt.Errorf("the %s store keeps no backup history", a.store.Engine())
	}
	return runs.Status(ctx)
}

// Backup takes a backup, prunes old ones, and records and audits the run.
// The run is recorded as running first, with a heartbeat while it lasts,
// so that only one backup runs at once (a fault.Conflict otherwise) and a
// backup whose process dies shows as interrupted.
func (a *App) Backup(ctx context.Context, o BackupOptions) (*backup.Result, error) {
	to := o.To
	if to == "" {
		to = a.BackupTo()
	}
	run := backup.Run{ID: o.RunID, Kind: "backup", Trigger: o.Trigger, Target: to, Started: time.Now().UTC()}
	if runs := a.backupRuns(); runs != nil {
		if run.ID == 0 {
			id, err := runs.Start(ctx, run)
			if err != nil {
				return nil, err
			}
			run.ID = id
		} else if ok, err := runs.Beat(ctx, run.ID); err != nil {
			return nil, err
		} else if !ok {
			// A job retried after its run ended or was marked interrupted.
			return nil, errRunOver
		}
		defer a.beatRun(ctx, runs, run.ID)()
	}
	target, err := a.backupTarget(o.To)
	if err != nil {
		// A target that cannot be opened is a failed backup too: it shows
		// on the backups page and in the metrics.
		run.Finished, run.Error = time.Now().UTC(), err.Error()
		a.recordRun(ctx, run, "atrium.backup.create", map[string]any{"target": to, "trigger": o.Trigger, "error": err.Error()})
		return nil, err
	}
	keep := o.Keep
	if keep <= 0 {
		keep = a.cfg.Atrium.Backup.Keep
	}
	run.Target = target.String()
	res, err := backup.Create(ctx, backup.Params{
		Source: a.backupSource(), Target: target, Keep: keep, AtriumVersion: a.version,
		Progress: o.Progress,
	})
	run.Finished = time.Now().UTC()
	if res != nil {
		run.Name, run.Size = res.Name, res.Size
	}
	run.OK = err == nil
	details := map[string]any{"target": target.String(), "trigger": o.Trigger, "run": run.ID}
	if res != nil {
		details["size"] = res.Size
		details["pruned"] = len(res.Pruned)
		details["schemaVersion"] = res.Manifest.SchemaVersion
	}
	if err != nil {
		run.Error = err.Error()
		details["error"] = err.Error()
	}
	a.recordRun(ctx, run, "atrium.backup.create", details)
	return res, err
}

// errRunOver is the answer to a backup job whose run is no longer running.
var errRunOver = errors.New("the backup run is no longer running")

// beatRun renews the run's heartbeat until the returned stop is called.
func (a *App) beatRun(ctx context.Context, runs backup.RunLog, id int64) (stop func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(backup.Heartbeat)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if _, err := runs.Beat(ctx, id); err != nil && ctx.Err() == nil {
				a.log.Warn("backup heartbeat", "run", id, "error", err.Error())
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// sweepBackupRuns marks backups whose process stopped as interrupted,
// every heartbeat, on every replica (the update is idempotent).
func (a *App) sweepBackupRuns(ctx context.Context) error {
	runs := a.backupRuns()
	if runs == nil {
		return nil
	}
	t := time.NewTicker(backup.Heartbeat)
	defer t.Stop()
	for {
		swept, err := runs.Sweep(ctx)
		if err != nil && ctx.Err() == nil {
			a.log.Warn("backup runs: marking interrupted runs", "error", err.Error())
		}
		for _, run := range swept {
			a.auditRun(ctx, run, "atrium.backup.create", map[string]any{"target": run.Target, "trigger": run.Trigger, "run": run.ID, "error": run.Error})
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Restore verifies a backup and replaces the database and data files with
// it, then migrates the database to this version and records the run.
// Run it on an App built with NoServer.
func (a *App) Restore(ctx context.Context, o RestoreOptions) (*backup.Manifest, error) {
	target, err := a.backupTarget(o.From)
	if err != nil {
		return nil, err
	}
	src := a.backupSource()
	migrations, err := backup.Migrations(ctx, src)
	if err != nil {
		return nil, fmt.Errorf("reading the database's schema version: %w", err)
	}
	run := backup.Run{Kind: "restore", Trigger: TriggerCLI, Target: target.String(), Name: o.Backup, Started: time.Now().UTC()}
	m, err := backup.Restore(ctx, backup.RestoreParams{
		Source: src, Target: target, Backup: o.Backup, Yes: o.Yes, Migrations: migrations,
		TempDir: os.TempDir(), Progress: o.Progress,
	})
	if err == nil {
		// An older SQLite backup is brought to this version's schema.
		if merr := a.store.Migrate(ctx); merr != nil {
			err = fmt.Errorf("the backup was restored, but migrating it failed: %w", merr)
		}
	}
	run.Finished = time.Now().UTC()
	run.OK = err == nil
	details := map[string]any{"target": target.String(), "yes": o.Yes}
	if m != nil {
		run.Name = backup.Name(m.Created)
		details["created"] = m.Created
		details["atriumVersion"] = m.AtriumVersion
	}
	if err != nil {
		run.Error = err.Error()
		details["error"] = err.Error()
	}
	a.recordRun(ctx, run, "atrium.backup.restore", details)
	return m, err
}

// recordRun writes the run to backup_runs (its outcome, when it was
// recorded as running) and the audit log; failures to record are logged,
// the run's own result stands.
func (a *App) recordRun(ctx context.Context, run backup.Run, action string, details map[string]any) {
	ctx = context.WithoutCancel(ctx)
	if runs := a.backupRuns(); runs != nil {
		record := runs.Record
		if run.ID != 0 {
			record = runs.Finish
		}
		if err := record(ctx, run); err != nil {
			a.log.Warn("recording the backup run", "error", err.Error())
		}
	}
	a.auditRun(ctx, run, action, details)
}

// auditRun audits a finished run as the system and logs it.
func (a *App) auditRun(ctx context.Context, run backup.Run, action string, details map[string]any) {
	ctx = context.WithoutCancel(ctx)
	outcome := audit.Succeeded
	if !run.OK {
		outcome = audit.Failed
	}
	actor := audit.Actor{Ref: "system:atrium", Type: "service", Via: run.Trigger}
	if _, err := a.audit.Append(ctx, audit.Event{Actor: actor, Action: action, Resource: run.Name, Outcome: outcome, Details: details}); err != nil {
		a.log.Warn("auditing the backup run", "error", err.Error())
	}
	if run.OK {
		a.log.Info(action, "name", run.Name, "target", run.Target, "bytes", run.Size, "trigger", run.Trigger)
	} else {
		a.log.Error(action, "name", run.Name, "target", run.Target, "trigger", run.Trigger, "error", run.Error)
	}
}

// scheduleBackups runs the backup schedule (atrium.backup) on the
// process's River client (startJobs), next to the scaffolder's queue, and
// works the backups started through the API on the same queue, one at a
// time. API replicas (--role=api) only queue backups; the workers take
// them.
func (a *App) scheduleBackups() error {
	b := a.cfg.Atrium.Backup
	p := backup.ScheduleParams{
		Logger: a.log,
		Status: a.BackupStatus,
		Run: func(ctx context.Context, runID int64) error {
			trigger := TriggerSchedule
			if runID != 0 {
				trigger = TriggerAPI
			}
			_, err := a.Backup(ctx, BackupOptions{Trigger: trigger, RunID: runID})
			if errors.Is(err, errRunOver) {
				return nil
			}
			return err
		},
	}
	if b.Enabled {
		if _, err := a.backupTarget(""); err != nil {
			return fmt.Errorf("atrium.backup.to: %w", err)
		}
		p.Interval = b.Schedule
	}
	s, err := backup.NewSchedule(p)
	if err != nil {
		return err
	}
	// startJobs sets a.backupQueue once the River client exists.
	a.backupSchedule = s
	a.jobQueues = append(a.jobQueues, s.JobQueue(a.role != RoleAPI))
	a.background = append(a.background, a.sweepBackupRuns)
	if a.role == RoleAPI {
		return nil
	}
	a.background = append(a.background, s.Run)
	return nil
}

// operationsRoutes registers the backups page, framed by the portal's
// layout, for principals holding atrium.admin.operations.read, with its
// "Back up now" button, and the backup API.
func (a *App) operationsRoutes(portal *ui.UI) func(web.Mux) {
	b := a.cfg.Atrium.Backup
	target, terr := a.backupTarget("")
	page := &backup.Page{
		Authorize: func(r *http.Request) error { return a.allowed(r, operationsPermission) },
		AuthorizeStart: func(r *http.Request) error {
			return a.allowed(r, operationsManagePermission)
		},
		Status: a.BackupStatus, Target: target, TargetErr: terr, Keep: b.Keep,
		Runs:  a.BackupRuns,
		Start: a.StartBackup,
		Render: func(w http.ResponseWriter, r *http.Request, title string, body template.HTML) {
			portal.Render(w, r, ui.View{Title: title, Section: "settings", Body: body})
		},
	}
	if b.Enabled {
		page.Schedule = b.Schedule
	}
	return func(mux web.Mux) {
		page.Register(mux)
		a.backupAPIRoutes(mux)
	}
}

// ServerRunning reports whether a server works on the configured database.
func (a *App) ServerRunning(ctx context.Context) (bool, error) {
	return backup.ServerRunning(ctx, a.backupSource())
}
