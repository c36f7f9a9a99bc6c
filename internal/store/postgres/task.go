package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
)

var _ store.TaskStore = (*DB)(nil)

const taskColumns = "id, template_ref, status, created_by, created_at, last_heartbeat, runner, cancel_requested, spec, state, secrets"

func scanTask(r pgx.Row) (store.Task, error) {
	var t store.Task
	var beat *time.Time
	var spec, state string
	if err := r.Scan(&t.ID, &t.TemplateRef, &t.Status, &t.CreatedBy, &t.CreatedAt, &beat, &t.Runner, &t.CancelRequested, &spec, &state, &t.Secrets); err != nil {
		return t, err
	}
	t.CreatedAt = t.CreatedAt.UTC()
	if beat != nil {
		t.LastHeartbeatAt = beat.UTC()
	}
	t.Spec, t.State = []byte(spec), []byte(state)
	return t, nil
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// TaskCreate stores a new task.
func (db *DB) TaskCreate(ctx context.Context, t store.Task) error {
	if t.ID == "" {
		return fault.New(fault.Invalid, "task needs an id")
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = time.Now()
	}
	tag, err := db.pool.Exec(ctx, "INSERT INTO scaffolder_tasks ("+taskColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING",
		t.ID, t.TemplateRef, t.Status, t.CreatedBy, t.CreatedAt, nullTime(t.LastHeartbeatAt), t.Runner,
		t.CancelRequested, string(t.Spec), string(t.State), t.Secrets)
	if err != nil {
		return dbErr(ctx, err, "create task")
	}
	if tag.RowsAffected() == 0 {
		return fault.New(fault.Conflict, "task %s already exists", t.ID)
	}
	return nil
}

// TaskGet returns one task.
func (db *DB) TaskGet(ctx context.Context, id string) (*store.Task, error) {
	t, err := scanTask(db.pool.QueryRow(ctx, "SELECT "+taskColumns+" FROM scaffolder_tasks WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fault.New(fault.NotFound, "task %s not found", id)
	}
	if err != nil {
		return nil, dbErr(ctx, err, "read task")
	}
	return &t, nil
}

// TaskList returns one page of tasks.
func (db *DB) TaskList(ctx context.Context, p store.TaskListParams) (store.TaskListResult, error) {
	var where []string
	var args []any
	if len(p.CreatedBy) > 0 {
		args = append(args, p.CreatedBy)
		where = append(where, fmt.Sprintf("created_by = ANY($%d)", len(args)))
	}
	if len(p.Status) > 0 {
		args = append(args, p.Status)
		where = append(where, fmt.Sprintf("status = ANY($%d)", len(args)))
	}
	if p.TemplateRef != "" {
		args = append(args, p.TemplateRef)
		where = append(where, fmt.Sprintf("template_ref = $%d", len(args)))
	}
	if p.ExcludeTemplateRefPrefix != "" {
		args = append(args, p.ExcludeTemplateRefPrefix)
		where = append(where, fmt.Sprintf("NOT starts_with(template_ref, $%d)", len(args)))
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var res store.TaskListResult
	if err := db.pool.QueryRow(ctx, "SELECT count(*) FROM scaffolder_tasks"+cond, args...).Scan(&res.Total); err != nil {
		return res, dbErr(ctx, err, "count tasks")
	}
	order := " ORDER BY created_at DESC, id DESC"
	if p.Ascending {
		order = " ORDER BY created_at, id"
	}
	q := "SELECT " + taskColumns + " FROM scaffolder_tasks" + cond + order
	if p.Limit > 0 {
		args = append(args, p.Limit, p.Offset)
		q += fmt.Sprintf(" LIMIT $%d OFFSET $%d", len(args)-1, len(args))
	}
	var err error
	res.Tasks, err = appendRows(ctx, db.pool, nil, "tasks", q, args, scanTask)
	return res, err
}

// TaskUpdate changes a task under a row lock.
func (db *DB) TaskUpdate(ctx context.Context, id string, fn func(*store.Task) error) (*store.Task, error) {
	t, _, err := db.TaskUpdateAppend(ctx, id, func(t *store.Task) ([]store.TaskEvent, error) { return nil, fn(t) })
	return t, err
}

// TaskUpdateAppend changes a task under a row lock and appends events to
// it in the same transaction. The row lock also orders the events' ids
// with other appends to the task (see appendTaskEvent).
func (db *DB) TaskUpdateAppend(ctx context.Context, id string, fn func(*store.Task) ([]store.TaskEvent, error)) (*store.Task, []store.TaskEvent, error) {
	var out store.Task
	var evs []store.TaskEvent
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		t, err := scanTask(tx.QueryRow(ctx, "SELECT "+taskColumns+" FROM scaffolder_tasks WHERE id = $1 FOR UPDATE", id))
		if errors.Is(err, pgx.ErrNoRows) {
			return fault.New(fault.NotFound, "task %s not found", id)
		}
		if err != nil {
			return dbErr(ctx, err, "read task")
		}
		evs, err = fn(&t)
		if err != nil {
			return err
		}
		if err := store.CheckTaskEvents(id, evs); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE scaffolder_tasks SET status = $1, last_heartbeat = $2, runner = $3,
			cancel_requested = $4, spec = $5, state = $6, secrets = $7 WHERE id = $8`,
			t.Status, nullTime(t.LastHeartbeatAt), t.Runner, t.CancelRequested, string(t.Spec), string(t.State), t.Secrets, id); err != nil {
			return dbErr(ctx, err, "update task")
		}
		for i := range evs {
			if evs[i], err = appendTaskEvent(ctx, tx, evs[i]); err != nil {
				return err
			}
		}
		out = t
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return &out, evs, nil
}

// TaskStale returns tasks whose heartbeat is older than before.
func (db *DB) TaskStale(ctx context.Context, statuses []string, before time.Time, limit int) ([]string, error) {
	if len(statuses) == 0 || limit <= 0 {
		return nil, nil
	}
	rows, err := db.pool.Query(ctx, `SELECT id FROM scaffolder_tasks WHERE status = ANY($1)
		AND coalesce(last_heartbeat, created_at) < $2 ORDER BY created_at LIMIT $3`, statuses, before, limit)
	if err != nil {
		return nil, dbErr(ctx, err, "find stale tasks")
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, dbErr(ctx, err, "find stale tasks")
	}
	return ids, nil
}

// TaskEventAppend appends an event.
func (db *DB) TaskEventAppend(ctx context.Context, e store.TaskEvent) (store.TaskEvent, error) {
	return appendTaskEvent(ctx, db.pool, e)
}

// appendTaskEvent inserts an event through q, the pool or a transaction.
//
// Event ids come from an identity sequence, taken inside the writing
// transaction, so across tasks id order is not commit order: no reader may
// follow events of several tasks by "id > last seen" (none does; every
// reader, TaskEventList, names one task). Within one task it must be, or a
// reader that advances past a committed id would never see an earlier id
// that commits later. The statement therefore locks the task's row before
// the id is taken (the CTE's lock is acquired before the INSERT draws its
// row, and with it the id) and holds it to the commit: appends to one task,
// here or in TaskUpdateAppend (which holds FOR UPDATE), take ids and commit
// one at a time. Without the lock, a log line appended while another
// transaction had appended to the task and not committed took the next id
// and committed first (TestTaskEventsCommitInIDOrder).
func appendTaskEvent(ctx context.Context, q interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}, e store.TaskEvent) (store.TaskEvent, error) {
	if e.CreatedAt.IsZero() {
		e.CreatedAt = time.Now()
	}
	e.CreatedAt = e.CreatedAt.Truncate(time.Microsecond).UTC()
	err := q.QueryRow(ctx, `WITH t AS (SELECT id FROM scaffolder_tasks WHERE id = $1 FOR NO KEY UPDATE)
		INSERT INTO scaffolder_task_events (task_id, type, body, created_at) SELECT t.id, $2, $3, $4 FROM t RETURNING id`,
		e.TaskID, e.Type, string(e.Body), e.CreatedAt).Scan(&e.ID)
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.Is(err, pgx.ErrNoRows) || errors.As(err, &pgErr) && pgErr.Code == "23503" {
			return e, fault.New(fault.NotFound, "task %s not found", e.TaskID)
		}
		return e, dbErr(ctx, err, "append task event")
	}
	return e, nil
}

// TaskEventList returns a task's events after an id.
func (db *DB) TaskEventList(ctx context.Context, taskID string, after int64, limit int) ([]store.TaskEvent, error) {
	if limit <= 0 {
		limit = 1000
	}
	return appendRows(ctx, db.pool, nil, "task events", "SELECT id, task_id, type, body, created_at FROM scaffolder_task_events WHERE task_id = $1 AND id > $2 ORDER BY id LIMIT $3",
		[]any{taskID, after, limit}, scanTaskEvent)
}

func scanTaskEvent(r pgx.Row) (store.TaskEvent, error) {
	var e store.TaskEvent
	var body string
	err := r.Scan(&e.ID, &e.TaskID, &e.Type, &body, &e.CreatedAt)
	e.Body = []byte(body)
	e.CreatedAt = e.CreatedAt.UTC()
	return e, err
}

// JobsPool returns the connection pool, on which the scaffolder's job queue
// (River) runs in the same database.
func (db *DB) JobsPool() *pgxpool.Pool { return db.pool }

// LookupPool returns the pool that lookups by ref and by uid run on (see
// lookupPoolConfig), for the pool metrics.
func (db *DB) LookupPool() *pgxpool.Pool { return db.lookups }
