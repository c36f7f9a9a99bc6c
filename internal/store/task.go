package store

import (
	"context"
	"time"

	"github.com/atrium-portal/atrium/internal/fault"
)

// TaskStore keeps the scaffolder's tasks and their events. A task's spec,
// step state and sealed secrets are opaque bytes here: internal/scaffolder
// owns their shape.
type TaskStore interface {
	// TaskCreate stores a new task; fault.Conflict when the id exists.
	TaskCreate(ctx context.Context, t Task) error
	// TaskGet returns one task; fault.NotFound when absent.
	TaskGet(ctx context.Context, id string) (*Task, error)
	// TaskList returns one page of tasks matching p, newest first unless
	// p.Ascending.
	TaskList(ctx context.Context, p TaskListParams) (TaskListResult, error)
	// TaskUpdate reads the task, lets fn change it and writes it back, all
	// in one transaction (a row lock in PostgreSQL, the one writer in
	// SQLite), so concurrent updates never interleave. An error from fn
	// aborts the update and is returned as is; fault.NotFound when absent.
	TaskUpdate(ctx context.Context, id string, fn func(*Task) error) (*Task, error)
	// TaskUpdateAppend is TaskUpdate that also appends the events fn
	// returns, in the same transaction, so that a reader sees the task's
	// new state together with its events or neither (a finished task
	// always has its completion event). It returns the task and the
	// events with their ids. An event's TaskID must be empty (it is set)
	// or id: fault.Invalid otherwise.
	TaskUpdateAppend(ctx context.Context, id string, fn func(*Task) ([]TaskEvent, error)) (*Task, []TaskEvent, error)
	// TaskStale returns the ids of tasks in one of statuses whose last
	// heartbeat (or creation, without one) is before before, oldest first.
	TaskStale(ctx context.Context, statuses []string, before time.Time, limit int) ([]string, error)
	// TaskEventAppend appends an event and returns it with its id, which
	// increases with every event of every task. Within one task, events
	// become visible in id order (an append waits for any uncommitted one
	// to the same task), so a reader of one task may follow it by "id >
	// last seen"; across tasks ids may commit out of order, so no reader
	// may follow several tasks by one id cursor.
	TaskEventAppend(ctx context.Context, e TaskEvent) (TaskEvent, error)
	// TaskEventList returns up to limit events of a task with ID > after,
	// in id order.
	TaskEventList(ctx context.Context, taskID string, after int64, limit int) ([]TaskEvent, error)
}

// Task is one scaffolder run as stored.
type Task struct {
	ID          string
	TemplateRef string
	Status      string
	CreatedBy   string
	CreatedAt   time.Time
	// LastHeartbeatAt is when the runner last reported progress (zero when
	// the task never ran).
	LastHeartbeatAt time.Time
	// Runner identifies the worker that runs the task, while it runs.
	Runner string
	// CancelRequested asks the runner to stop at the next safe point.
	CancelRequested bool
	// Spec, State are JSON; Secrets is sealed ciphertext ("" when none).
	Spec    []byte
	State   []byte
	Secrets string
}

// TaskListParams filter and page tasks. Empty filters do not filter.
type TaskListParams struct {
	CreatedBy   []string
	Status      []string
	TemplateRef string
	Limit       int
	Offset      int
	Ascending   bool

	// ExcludeTemplateRefPrefix leaves out tasks whose template ref starts
	// with it (the scaffolder's dry runs: "dry-run:").
	ExcludeTemplateRefPrefix string
}

// TaskListResult is one page of tasks and the number of matches.
type TaskListResult struct {
	Tasks []Task
	Total int
}

// TaskEvent is one event of a task: a log line, a step transition, or the
// completion.
type TaskEvent struct {
	ID        int64
	TaskID    string
	Type      string
	Body      []byte // JSON
	CreatedAt time.Time
}

// CheckTaskEvents checks that evs may be appended to task id, as
// TaskUpdateAppend does: each TaskID empty (it is set to id) or id.
func CheckTaskEvents(id string, evs []TaskEvent) error {
	for i := range evs {
		switch evs[i].TaskID {
		case "":
			evs[i].TaskID = id
		case id:
		default:
			return fault.New(fault.Invalid, "event %d of task %s names task %s", i, id, evs[i].TaskID)
		}
	}
	return nil
}
