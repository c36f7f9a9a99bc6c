package scaffolder

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/jobs"
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

// JobQueue is the scaffolder's queue on the process's River client
// (internal/jobs): workers tasks run at once in this process
// (scaffolder.concurrentTasksLimit); 0 runs none (an API-only replica).
// Once the client exists, SetQueue(NewRiverQueue(client)) sends tasks to
// it.
func (s *Service) JobQueue(workers int) jobs.Queue {
	return jobs.Queue{
		Name: queueName, MaxWorkers: workers,
		FetchPollInterval: 200 * time.Millisecond, FetchCooldown: 50 * time.Millisecond,
		Register: func(w *river.Workers) { river.AddWorker(w, &taskWorker{svc: s}) },
	}
}

// RiverQueue runs tasks as River jobs in the store's database.
type RiverQueue struct {
	jobs jobs.Inserter
}

// NewRiverQueue queues tasks on the River client, which works them where
// JobQueue was given workers.
func NewRiverQueue(c jobs.Inserter) *RiverQueue { return &RiverQueue{jobs: c} }

// Enqueue inserts a job for the task.
func (q *RiverQueue) Enqueue(ctx context.Context, taskID string) error {
	if err := q.jobs.Insert(ctx, taskArgs{TaskID: taskID}); err != nil {
		return fault.Wrap(fault.Unavailable, err, "queue task %s", taskID)
	}
	return nil
}
