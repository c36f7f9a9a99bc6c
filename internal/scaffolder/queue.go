package scaffolder

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
	"github.com/riverqueue/river/rivermigrate"

	"github.com/atrium-portal/atrium/internal/fault"

	"github.com/atrium-portal/atrium/internal/riverlocal"
)

// taskArgs is the River job of one task run.
type taskArgs struct {
	TaskID string `json:"taskId"`
}

// Kind names the job kind in River's tables.
func (taskArgs) Kind() string { return "atrium_scaffolder_task" }

// InsertOpts puts task runs on their own queue, so the concurrency limit
// applies to tasks only.
func (taskArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queueName, MaxAttempts: 5}
}

const queueName = "scaffolder"

type taskWorker struct {
	river.WorkerDefaults[taskArgs]
	svc *Service
}

// Timeout is unlimited: steps have their own timeout (StepTimeout).
func (w *taskWorker) Timeout(*river.Job[taskArgs]) time.Duration { return -1 }

func (w *taskWorker) Work(ctx context.Context, job *river.Job[taskArgs]) error {
	return w.svc.Run(ctx, job.Args.TaskID)
}

// RiverQueue runs tasks as River jobs in the store's database.
type RiverQueue[TTx any] struct {
	client *river.Client[TTx]
}

// QueueParams configure the River queue.
type QueueParams struct {
	// Workers is the number of tasks run at once by this process
	// (scaffolder.concurrentTasksLimit); 0 runs none (an API-only replica).
	Workers int
	Logger  *slog.Logger
}

// NewSQLiteQueue runs River on the SQLite store's write connection.
func NewSQLiteQueue(ctx context.Context, db *sql.DB, svc *Service, p QueueParams) (*RiverQueue[*sql.Tx], error) {
	return newRiverQueue(ctx, riverlocal.SQLite(db), svc, p, riverlocal.PollInterval)
}

// NewPostgresQueue runs River on the PostgreSQL store's pool.
func NewPostgresQueue(ctx context.Context, pool *pgxpool.Pool, svc *Service, p QueueParams) (*RiverQueue[pgx.Tx], error) {
	return newRiverQueue(ctx, riverpgxv5.New(pool), svc, p, 200*time.Millisecond)
}

func newRiverQueue[TTx any](ctx context.Context, driver riverdriver.Driver[TTx], svc *Service, p QueueParams, poll time.Duration) (*RiverQueue[TTx], error) {
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: quiet(p.Logger)})
	if err != nil {
		return nil, fault.Wrap(fault.Internal, err, "river: migrator")
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return nil, fault.Wrap(fault.Internal, err, "river: migrate")
	}
	cfg := &river.Config{Logger: quiet(p.Logger), FetchPollInterval: poll, FetchCooldown: 50 * time.Millisecond}
	if p.Workers > 0 {
		workers := river.NewWorkers()
		river.AddWorker(workers, &taskWorker{svc: svc})
		cfg.Workers = workers
		cfg.Queues = map[string]river.QueueConfig{queueName: {MaxWorkers: p.Workers}}
	}
	client, err := river.NewClient(driver, cfg)
	if err != nil {
		return nil, fault.Wrap(fault.Internal, err, "river: client")
	}
	q := &RiverQueue[TTx]{client: client}
	svc.SetQueue(q)
	return q, nil
}

// quiet keeps River's informational lines out of Atrium's log.
func quiet(l *slog.Logger) *slog.Logger {
	if l == nil {
		l = slog.Default()
	}
	return slog.New(levelFilter{l.Handler(), slog.LevelWarn})
}

type levelFilter struct {
	slog.Handler
	min slog.Level
}

func (f levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.min && f.Handler.Enabled(ctx, l)
}

// Enqueue inserts a job for the task.
func (q *RiverQueue[TTx]) Enqueue(ctx context.Context, taskID string) error {
	if _, err := q.client.Insert(ctx, taskArgs{TaskID: taskID}, nil); err != nil {
		return fault.Wrap(fault.Unavailable, err, "queue task %s", taskID)
	}
	return nil
}

// Run works jobs until ctx ends, then stops River, letting running tasks
// end at their next safe point (they resume on the next start otherwise).
func (q *RiverQueue[TTx]) Run(ctx context.Context) error {
	if err := q.client.Start(ctx); err != nil {
		return fmt.Errorf("river: start: %w", err)
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := q.client.StopAndCancel(sctx); err != nil && sctx.Err() == nil {
		return fmt.Errorf("river: stop: %w", err)
	}
	return nil
}
