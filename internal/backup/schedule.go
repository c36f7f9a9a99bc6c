package backup

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/atrium-portal/atrium/internal/jobs"
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

// Schedule inserts a backup job per slot, and the backups started through
// the API, on the process's River client (internal/jobs); the workers of
// its JobQueue take them.
type Schedule struct {
	jobs jobs.Inserter
	p    ScheduleParams
}

// NewSchedule returns the schedule; SetJobs must be called before Run or
// Enqueue.
func NewSchedule(p ScheduleParams) (*Schedule, error) {
	if p.Interval != 0 && p.Interval < time.Minute {
		return nil, fmt.Errorf("backup schedule must be at least a minute, got %s", p.Interval)
	}
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	return &Schedule{p: p}, nil
}

// JobQueue is the backups' queue on the River client. work says whether
// this process takes backups (one at a time) or only queues them (an API
// replica).
func (s *Schedule) JobQueue(work bool) jobs.Queue {
	q := jobs.Queue{
		Name:              scheduleQueue,
		FetchPollInterval: time.Second,
		Register: func(w *river.Workers) {
			river.AddWorker(w, &jobWorker{run: s.p.Run})
		},
	}
	if work {
		q.MaxWorkers = 1
	}
	return q
}

// SetJobs sets the River client the schedule inserts its jobs with.
func (s *Schedule) SetJobs(c jobs.Inserter) { s.jobs = c }

// Run inserts a backup job per slot until ctx ends (nothing without an
// interval); the River client works them.
func (s *Schedule) Run(ctx context.Context) error {
	iv := s.p.Interval
	if iv == 0 {
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
func (s *Schedule) Enqueue(ctx context.Context, runID int64) error {
	if err := s.jobs.Insert(ctx, jobArgs{RunID: runID}); err != nil {
		return fmt.Errorf("queueing the backup: %w", err)
	}
	return nil
}

func (s *Schedule) insert(ctx context.Context, slot int64) {
	if err := s.jobs.Insert(ctx, jobArgs{Period: slot}); err != nil && ctx.Err() == nil {
		s.p.Logger.Error("backup schedule: queueing the backup", "error", err.Error())
	}
}
