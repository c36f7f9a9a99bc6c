package app

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/atrium-portal/atrium/internal/audit"
	"github.com/atrium-portal/atrium/internal/backup"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/web"
)

// operationsManagePermission guards starting a backup (and other
// operator actions).
const operationsManagePermission = "atrium.admin.operations.manage"

// backupsPrefix is where the backup API is mounted.
const backupsPrefix = "/api/atrium/backups"

// maxBackupRuns caps GET /api/atrium/backups?limit=.
const maxBackupRuns = 500

// backupRunView is a run as the API answers it.
type backupRunView struct {
	backup.Run
	DurationMs int64 `json:"durationMs"`
}

func viewOf(r backup.Run) backupRunView {
	return backupRunView{Run: r, DurationMs: r.Duration().Milliseconds()}
}

// backupAPIRoutes registers POST and GET /api/atrium/backups and GET
// /api/atrium/backups/{id}.
func (a *App) backupAPIRoutes(mux web.Mux) {
	mux.HandleFunc("POST "+backupsPrefix, a.postBackup)
	mux.HandleFunc("GET "+backupsPrefix, a.listBackupRuns)
	mux.HandleFunc("GET "+backupsPrefix+"/{id}", a.getBackupRun)
}

// StartBackup records a backup as running and queues it on the backup
// job queue, where a worker takes it as it takes the scheduled ones. It
// fails with fault.Conflict while another backup runs. The caller in ctx
// is audited (atrium.backup.start).
func (a *App) StartBackup(ctx context.Context) (backup.Run, error) {
	runs := a.backupRuns()
	run := backup.Run{Kind: "backup", Trigger: TriggerAPI, State: backup.StateRunning, Target: a.BackupTo(), Started: time.Now().UTC()}
	var err error
	switch {
	case runs == nil || a.backupQueue == nil:
		err = fault.New(fault.Unavailable, "backups cannot be started on this server: the %s store keeps no job queue", a.store.Engine())
	default:
		if run.ID, err = runs.Start(ctx, run); err == nil {
			if qerr := a.backupQueue.Enqueue(ctx, run.ID); qerr != nil {
				err = fault.Wrap(fault.Unavailable, qerr, "the backup could not be queued: %v", qerr)
				run.State, run.Finished, run.Error = backup.StateFailed, time.Now().UTC(), err.Error()
				if ferr := runs.Finish(context.WithoutCancel(ctx), run); ferr != nil {
					a.log.Warn("recording the backup run", "error", ferr.Error())
				}
			}
		}
	}
	ev := audit.Event{Action: "atrium.backup.start", Outcome: audit.Succeeded, Details: map[string]any{"target": run.Target}}
	if run.ID != 0 {
		ev.Resource = fmt.Sprintf("backup-run:%d", run.ID)
	}
	if err != nil {
		ev.Outcome = audit.Failed
		ev.Details["error"] = fault.MessageOf(err)
	}
	if aerr := audit.Record(context.WithoutCancel(ctx), ev); aerr != nil {
		a.log.Warn("auditing the backup start", "error", aerr.Error())
	}
	return run, err
}

// postBackup serves POST /api/atrium/backups: 202 with the run, which
// GET /api/atrium/backups/{id} follows.
func (a *App) postBackup(w http.ResponseWriter, r *http.Request) {
	if err := a.allowed(r, operationsManagePermission); err != nil {
		web.WriteError(w, r, err)
		return
	}
	run, err := a.StartBackup(r.Context())
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	w.Header().Set("Location", fmt.Sprintf("%s/%d", backupsPrefix, run.ID))
	web.WriteJSON(w, http.StatusAccepted, viewOf(run))
}

// listBackupRuns serves GET /api/atrium/backups?limit=N: the newest
// backups and restores first.
func (a *App) listBackupRuns(w http.ResponseWriter, r *http.Request) {
	if err := a.allowed(r, operationsPermission); err != nil {
		web.WriteError(w, r, err)
		return
	}
	limit := 50
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxBackupRuns {
			web.WriteError(w, r, fault.New(fault.Invalid, "limit must be a whole number from 1 to %d, got %q", maxBackupRuns, s))
			return
		}
		limit = n
	}
	list, err := a.BackupRuns(r.Context(), limit)
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	items := make([]backupRunView, len(list))
	for i, run := range list {
		items[i] = viewOf(run)
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"items": items})
}

// getBackupRun serves GET /api/atrium/backups/{id}.
func (a *App) getBackupRun(w http.ResponseWriter, r *http.Request) {
	if err := a.allowed(r, operationsPermission); err != nil {
		web.WriteError(w, r, err)
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		web.WriteError(w, r, fault.New(fault.Invalid, "backup run id must be a positive whole number, got %q", r.PathValue("id")))
		return
	}
	runs := a.backupRuns()
	if runs == nil {
		web.WriteError(w, r, fault.New(fault.NotFound, "no backup run %d: the %s store keeps no backup history", id, a.store.Engine()))
		return
	}
	run, err := runs.Get(r.Context(), id)
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, viewOf(run))
}

// BackupRuns returns the newest backups and restores, at most limit.
func (a *App) BackupRuns(ctx context.Context, limit int) ([]backup.Run, error) {
	runs := a.backupRuns()
	if runs == nil {
		return []backup.Run{}, nil
	}
	return runs.List(ctx, limit)
}
