package backup

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/atrium-portal/atrium/internal/riverlocal"
)

// jobArgs is the River job of one backup. Period numbers a scheduled
// backup's slot since the Unix epoch; the job is unique by it, so however
// many replicas schedule the same slot, River inserts one job and one
// worker takes the backup. RunID is the backup_runs row of a backup
// started through the API, recorded (running) before the job was queued.
type jobArgs struct {
	Period int64 `json:"period,omitempty"`
	RunID  int64 `json:"runId,omitempty"`
}

func (jobArgs) Kind() string { return "atrium_backup" }

func (jobArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: scheduleQueue, MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

const scheduleQueue = "backup"

type jobWorker struct {
	river.WorkerDefaults[jobArgs]
	run func(ctx context.Context, runID int64) error
}

// Timeout is unlimited: a large database takes long to copy, and ctx ends
// with the process.
func (w *jobWorker) Timeout(*river.Job[jobArgs]) time.Duration { return -1 }

func (w *jobWorker) Work(ctx context.Context, job *river.Job[jobArgs]) error {
	return w.run(ctx, job.Args.RunID)
}

// ScheduleParams configure scheduled backups.
type ScheduleParams struct {
	// Interval is the time between backups; slots start at multiples of
	// it since the Unix epoch (UTC midnight for 24h). 0 schedules none:
	// only backups queued with Enqueue run.
	Interval time.Duration
	// Run takes one backup (and records and audits it): the one recorded
	// as runID, or a new one when runID is 0.
	Run func(ctx context.Context, runID int64) error
	// Status tells whether the last successful backup is older than an
	// interval, so that a replica starting late catches up at once.
	Status func(ctx context.Context) (Status, error)
	Logger *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Schedule inserts a backup job per slot and works those jobs, on River in
// the store's database.
type Schedule[TTx any] struct {
	client *river.Client[TTx]
	p      ScheduleParams
}

// NewSQLiteSchedule schedules backups on River on the SQLite store's write
// connection. River's tables must exist (the scaffolder migrates them).
func NewSQLiteSchedule(db *sql.DB, p ScheduleParams) (*Schedule[*sql.Tx], error) {
	return newSchedule(riverlocal.SQLite(db), p, riverlocal.PollInterval)
}

// NewPostgresSchedule schedules backups on River on the PostgreSQL pool.
func NewPostgresSchedule(pool *pgxpool.Pool, p ScheduleParams) (*Schedule[pgx.Tx], error) {
	return newSchedule(riverpgxv5.New(pool), p, time.Second)
}

func newSchedule[TTx any](driver riverdriver.Driver[TTx], p ScheduleParams, poll time.Duration) (*Schedule[TTx], error) {
	if p.Interval != 0 && p.Interval < time.Minute {
		return nil, fmt.Errorf("backup schedule must be at least a minute, got %s", p.Interval)
	}
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &jobWorker{run: p.Run})
	client, err := river.NewClient(driver, &river.Config{
		Logger:            slog.New(levelFilter{p.Logger.Handler(), slog.LevelWarn}),
		FetchPollInterval: poll,
		Workers:           workers,
		Queues:            map[string]river.QueueConfig{scheduleQueue: {MaxWorkers: 1}},
	})
	if err != nil {
		return nil, fmt.Errorf("backup schedule: %w", err)
	}
	return &Schedule[TTx]{client: client, p: p}, nil
}

// Run works backup jobs and inserts one per slot until ctx ends.
func (s *Schedule[TTx]) Run(ctx context.Context) error {
	if err := s.client.Start(ctx); err != nil {
		return fmt.Errorf("backup schedule: %w", err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.client.StopAndCancel(sctx)
	}()
	iv := s.p.Interval
	if iv == 0 {
		<-ctx.Done()
		return nil
	}
	slot := s.p.Now().UnixNano() / int64(iv)
	if st, err := s.p.Status(ctx); err != nil {
		s.p.Logger.Warn("backup schedule: reading the last backup", "error", err.Error())
	} else if st.LastSuccess != nil && s.p.Now().Sub(st.LastSuccess.Finished) > iv {
		// Missed slots (the servers were down): take one now.
		s.insert(ctx, slot)
	}
	for {
		next := time.Unix(0, (slot+1)*int64(iv))
		t := time.NewTimer(next.Sub(s.p.Now()))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		slot = s.p.Now().UnixNano() / int64(iv)
		s.insert(ctx, slot)
	}
}

// Enqueue queues the backup recorded as runID, to run now on a worker
// (through the same queue, one at a time, as the scheduled ones).
func (s *Schedule[TTx]) Enqueue(ctx context.Context, runID int64) error {
	if _, err := s.client.Insert(ctx, jobArgs{RunID: runID}, nil); err != nil {
		return fmt.Errorf("queueing the backup: %w", err)
	}
	return nil
}

func (s *Schedule[TTx]) insert(ctx context.Context, slot int64) {
	if _, err := s.client.Insert(ctx, jobArgs{Period: slot}, nil); err != nil && ctx.Err() == nil {
		s.p.Logger.Error("backup schedule: queueing the backup", "error", err.Error())
	}
}

// levelFilter keeps River's informational lines out of Atrium's log.
type levelFilter struct {
	slog.Handler
	min slog.Level
}

func (f levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.min && f.Handler.Enabled(ctx, l)
}
