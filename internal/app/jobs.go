package app

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/atrium-portal/atrium/internal/jobs"
	"github.com/atrium-portal/atrium/internal/scaffolder"
)

// startJobs builds the process's one River client, in the store's
// database, for the queues the services asked for (a.jobQueues: the
// scaffolder's tasks, the backups), hands it to them, and runs it in the
// background. One client, not one per queue: each runs its own 50 ms
// completer ticker, elector and maintenance services.
func (a *App) startJobs(ctx context.Context) error {
	p := jobs.Params{Logger: a.log}
	var client jobs.Inserter
	var run func(context.Context) error
	switch db := a.store.(type) {
	case interface{ JobsDB() *sql.DB }:
		c, err := jobs.NewSQLite(ctx, db.JobsDB(), p, a.jobQueues...)
		if err != nil {
			return err
		}
		client, run = c, c.Run
	case interface{ JobsPool() *pgxpool.Pool }:
		c, err := jobs.NewPostgres(ctx, db.JobsPool(), p, a.jobQueues...)
		if err != nil {
			return err
		}
		client, run = c, c.Run
	default:
		return fmt.Errorf("scaffolder: the %s store offers no job queue", a.store.Engine())
	}
	a.scaffolderSvc.SetQueue(scaffolder.NewRiverQueue(client))
	if s := a.backupSchedule; s != nil {
		s.SetJobs(client)
		a.backupQueue = s
	}
	stopped := make(chan struct{})
	a.background = append(a.background, func(ctx context.Context) error {
		defer close(stopped)
		return run(ctx)
	})
	// River stops before the store closes (cleanups run in reverse).
	a.cleanup = append(a.cleanup, func() error {
		select {
		case <-stopped:
		case <-time.After(10 * time.Second):
		}
		return nil
	})
	return nil
}
