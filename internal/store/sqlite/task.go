package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
)

var _ store.TaskStore = (*DB)(nil)

const taskColumns = "id, template_ref, status, created_by, created_at, last_heartbeat, runner, cancel_requested, spec, state, secrets"

func scanTask(r rowScanner) (store.Task, error) {
	var t store.Task
	var created, beat int64
	var cancel int
	var spec, state string
	if err := r.Scan(&t.ID, &t.TemplateRef, &t.Status, &t.CreatedBy, &created, &beat, &t.Runner, &cancel, &spec, &state, &t.Secrets); err != nil {
		return t, err
	}
	t.CreatedAt = time.UnixMicro(created).UTC()
	if beat > 0 {
		t.LastHeartbeatAt = time.UnixMicro(beat).UTC()
	}
	t.CancelRequested = cancel != 0
	t.Spec, t.State = []byte(spec), []byte(state)
	return t, nil
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TaskCreate stores a new task.
func (db *DB) TaskCreate(ctx context.Context, t store.Task) error {
	if t.ID == "" {
		return fault.New(fault.Invalid, "task needs an id")
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = time.Now()
	}
	res, err := db.write.ExecContext(ctx, "INSERT INTO scaffolder_tasks ("+taskColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
		t.ID, t.TemplateRef, t.Status, t.CreatedBy, t.CreatedAt.UnixMicro(), micros(t.LastHeartbeatAt), t.Runner,
		boolInt(t.CancelRequested), string(t.Spec), string(t.State), t.Secrets)
	if err != nil {
		return dbErr(ctx, err, "create task")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fault.New(fault.Conflict, "task %s already exists", t.ID)
	}
	return nil
}

// TaskGet returns one task.
func (db *DB) TaskGet(ctx context.Context, id string) (*store.Task, error) {
	t, err := scanTask(db.read.QueryRowContext(ctx, "SELECT "+taskColumns+" FROM scaffolder_tasks WHERE id = ?", id))
	if err == sql.ErrNoRows {
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
	in := func(col string, vals []string) {
		if len(vals) == 0 {
			return
		}
		where = append(where, col+" IN ("+strings.TrimSuffix(strings.Repeat("?,", len(vals)), ",")+")")
		for _, v := range vals {
			args = append(args, v)
		}
	}
	in("created_by", p.CreatedBy)
	in("status", p.Status)
	if p.TemplateRef != "" {
		where = append(where, "template_ref = ?")
		args = append(args, p.TemplateRef)
	}
	if p.ExcludeTemplateRefPrefix != "" {
		where = append(where, "substr(template_ref, 1, ?) <> ?")
		args = append(args, len(p.ExcludeTemplateRefPrefix), p.ExcludeTemplateRefPrefix)
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var res store.TaskListResult
	if err := db.read.QueryRowContext(ctx, "SELECT count(*) FROM scaffolder_tasks"+cond, args...).Scan(&res.Total); err != nil {
		return res, dbErr(ctx, err, "count tasks")
	}
	order := " ORDER BY created_at DESC, id DESC"
	if p.Ascending {
		order = " ORDER BY created_at, id"
	}
	q := "SELECT " + taskColumns + " FROM scaffolder_tasks" + cond + order
	if p.Limit > 0 {
		q += " LIMIT ? OFFSET ?"
		args = append(args, p.Limit, p.Offset)
	}
	var err error
	res.Tasks, err = appendRows(ctx, db.read, nil, "tasks", q, args, scanTask)
	return res, err
}

// TaskUpdate changes a task under the one write connection's transaction.
func (db *DB) TaskUpdate(ctx context.Context, id string, fn func(*store.Task) error) (*store.Task, error) {
	t, _, err := db.TaskUpdateAppend(ctx, id, func(t *store.Task) ([]store.TaskEvent, error) { return nil, fn(t) })
	return t, err
}

// TaskUpdateAppend changes a task and appends events to it in one
// transaction on the write connection.
func (db *DB) TaskUpdateAppend(ctx context.Context, id string, fn func(*store.Task) ([]store.TaskEvent, error)) (*store.Task, []store.TaskEvent, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, dbErr(ctx, err, "begin task update")
	}
	defer tx.Rollback()
	t, err := scanTask(tx.QueryRowContext(ctx, "SELECT "+taskColumns+" FROM scaffolder_tasks WHERE id = ?", id))
	if err == sql.ErrNoRows {
		return nil, nil, fault.New(fault.NotFound, "task %s not found", id)
	}
	if err != nil {
		return nil, nil, dbErr(ctx, err, "read task")
	}
	evs, err := fn(&t)
	if err != nil {
		return nil, nil, err
	}
	if err := store.CheckTaskEvents(id, evs); err != nil {
		return nil, nil, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE scaffolder_tasks SET status = ?, last_heartbeat = ?, runner = ?,
		cancel_requested = ?, spec = ?, state = ?, secrets = ? WHERE id = ?`,
		t.Status, micros(t.LastHeartbeatAt), t.Runner, boolInt(t.CancelRequested), string(t.Spec), string(t.State), t.Secrets, id); err != nil {
		return nil, nil, dbErr(ctx, err, "update task")
	}
	for i := range evs {
		if evs[i], err = appendTaskEvent(ctx, tx, evs[i]); err != nil {
			return nil, nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, nil, dbErr(ctx, err, "commit task update")
	}
	return &t, evs, nil
}

// TaskStale returns tasks whose heartbeat is older than before.
func (db *DB) TaskStale(ctx context.Context, statuses []string, before time.Time, limit int) ([]string, error) {
	if len(statuses) == 0 || limit <= 0 {
		return nil, nil
	}
	args := make([]any, 0, len(statuses)+2)
	for _, s := range statuses {
		args = append(args, s)
	}
	args = append(args, before.UnixMicro(), limit)
	rows, err := db.read.QueryContext(ctx, `SELECT id FROM scaffolder_tasks WHERE status IN (`+
		strings.TrimSuffix(strings.Repeat("?,", len(statuses)), ",")+`)
		AND (CASE WHEN last_heartbeat > 0 THEN last_heartbeat ELSE created_at END) < ?
		ORDER BY created_at LIMIT ?`, args...)
	if err != nil {
		return nil, dbErr(ctx, err, "find stale tasks")
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, dbErr(ctx, err, "find stale tasks")
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// TaskEventAppend appends an event.
func (db *DB) TaskEventAppend(ctx context.Context, e store.TaskEvent) (store.TaskEvent, error) {
	return appendTaskEvent(ctx, db.write, e)
}

// appendTaskEvent inserts an event through q, the write pool or a
// transaction on it.
func appendTaskEvent(ctx context.Context, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}, e store.TaskEvent) (store.TaskEvent, error) {
	if e.CreatedAt.IsZero() {
		e.CreatedAt = time.Now()
	}
	err := q.QueryRowContext(ctx, "INSERT INTO scaffolder_task_events (task_id, type, body, created_at) VALUES (?, ?, ?, ?) RETURNING id",
		e.TaskID, e.Type, string(e.Body), e.CreatedAt.UnixMicro()).Scan(&e.ID)
	if err != nil {
		if strings.Contains(err.Error(), "FOREIGN KEY") {
			return e, fault.New(fault.NotFound, "task %s not found", e.TaskID)
		}
		return e, dbErr(ctx, err, "append task event")
	}
	e.CreatedAt = time.UnixMicro(e.CreatedAt.UnixMicro()).UTC()
	return e, nil
}

// TaskEventList returns a task's events after an id.
func (db *DB) TaskEventList(ctx context.Context, taskID string, after int64, limit int) ([]store.TaskEvent, error) {
	if limit <= 0 {
		limit = 1000
	}
	return appendRows(ctx, db.read, nil, "task events", "SELECT id, task_id, type, body, created_at FROM scaffolder_task_events WHERE task_id = ? AND id > ? ORDER BY id LIMIT ?",
		[]any{taskID, after, limit}, scanTaskEvent)
}

func scanTaskEvent(r rowScanner) (store.TaskEvent, error) {
	var e store.TaskEvent
	var body string
	var at int64
	err := r.Scan(&e.ID, &e.TaskID, &e.Type, &body, &at)
	e.Body = []byte(body)
	e.CreatedAt = time.UnixMicro(at).UTC()
	return e, err
}

// JobsDB returns the write connection pool, on which the scaffolder's job
// queue (River) runs: SQLite admits one writer, so River shares the store's
// single write connection instead of contending for the file lock.
func (db *DB) JobsDB() *sql.DB { return db.write }
