package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
)

var _ store.OperationStore = (*DB)(nil)

const operationColumns = `id, key, task_id, step_id, plugin_id, system, kind, entity_ref, external_id, external_url, token,
	state, attempts, next_attempt_at, error_system, error_answer, error_action, cancel_requested, created_at, updated_at`

func scanOperation(r rowScanner) (store.Operation, error) {
	var o store.Operation
	var next, created, updated int64
	var cancel int
	if err := r.Scan(&o.ID, &o.Key, &o.TaskID, &o.StepID, &o.PluginID, &o.System, &o.Kind, &o.EntityRef, &o.ExternalID, &o.ExternalURL, &o.Token,
		&o.State, &o.Attempts, &next, &o.ErrorSystem, &o.ErrorAnswer, &o.ErrorAction, &cancel, &created, &updated); err != nil {
		return o, err
	}
	if next > 0 {
		o.NextAttemptAt = time.UnixMicro(next).UTC()
	}
	o.CancelRequested = cancel != 0
	o.CreatedAt, o.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	return o, nil
}

// OperationCreate stores a new operation.
func (db *DB) OperationCreate(ctx context.Context, o store.Operation) error {
	if o.ID == "" || o.Key == "" {
		return fault.New(fault.Invalid, "an operation needs an id and a key")
	}
	if err := store.OperationTransition(store.OperationPending, o.State); err != nil {
		return err
	}
	now := time.Now()
	if o.CreatedAt.IsZero() {
		o.CreatedAt = now
	}
	if o.UpdatedAt.IsZero() {
		o.UpdatedAt = o.CreatedAt
	}
	res, err := db.write.ExecContext(ctx, "INSERT INTO operations ("+operationColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
		o.ID, o.Key, o.TaskID, o.StepID, o.PluginID, o.System, o.Kind, o.EntityRef, o.ExternalID, o.ExternalURL, o.Token,
		o.State, o.Attempts, micros(o.NextAttemptAt), o.ErrorSystem, o.ErrorAnswer, o.ErrorAction, boolInt(o.CancelRequested),
		o.CreatedAt.UnixMicro(), o.UpdatedAt.UnixMicro())
	if err != nil {
		return dbErr(ctx, err, "create operation")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fault.New(fault.Conflict, "operation %s already exists", o.ID)
	}
	return nil
}

// OperationGet returns one operation.
func (db *DB) OperationGet(ctx context.Context, id string) (*store.Operation, error) {
	return db.operationOne(ctx, db.read.QueryRowContext(ctx, "SELECT "+operationColumns+" FROM operations WHERE id = ?", id), "operation "+id)
}

// OperationGetByKey returns the newest operation with key.
func (db *DB) OperationGetByKey(ctx context.Context, key string) (*store.Operation, error) {
	return db.operationOne(ctx, db.read.QueryRowContext(ctx, "SELECT "+operationColumns+" FROM operations WHERE key = ? ORDER BY created_at DESC, id DESC LIMIT 1", key), "an operation with key "+key)
}

func (db *DB) operationOne(ctx context.Context, row *sql.Row, what string) (*store.Operation, error) {
	o, err := scanOperation(row)
	if err == sql.ErrNoRows {
		return nil, fault.New(fault.NotFound, "%s not found", what)
	}
	if err != nil {
		return nil, dbErr(ctx, err, "read operation")
	}
	return &o, nil
}

// OperationList returns one page of operations, newest first.
func (db *DB) OperationList(ctx context.Context, p store.OperationListParams) (store.OperationListResult, error) {
	var where []string
	var args []any
	if len(p.State) > 0 {
		where = append(where, "state IN ("+strings.TrimSuffix(strings.Repeat("?,", len(p.State)), ",")+")")
		for _, s := range p.State {
			args = append(args, s)
		}
	}
	for col, v := range map[string]string{"system": p.System, "task_id": p.TaskID, "entity_ref": p.EntityRef} {
		if v != "" {
			where = append(where, col+" = ?")
			args = append(args, v)
		}
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var res store.OperationListResult
	if err := db.read.QueryRowContext(ctx, "SELECT count(*) FROM operations"+cond, args...).Scan(&res.Total); err != nil {
		return res, dbErr(ctx, err, "count operations")
	}
	q := "SELECT " + operationColumns + " FROM operations" + cond + " ORDER BY created_at DESC, id DESC"
	if p.Limit > 0 {
		q += " LIMIT ? OFFSET ?"
		args = append(args, p.Limit, p.Offset)
	}
	var err error
	res.Operations, err = appendRows(ctx, db.read, nil, "operations", q, args, scanOperation)
	return res, err
}

// OperationUpdate changes an operation under the one write connection's
// transaction.
func (db *DB) OperationUpdate(ctx context.Context, id string, fn func(*store.Operation) error) (*store.Operation, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, dbErr(ctx, err, "begin operation update")
	}
	defer tx.Rollback()
	o, err := scanOperation(tx.QueryRowContext(ctx, "SELECT "+operationColumns+" FROM operations WHERE id = ?", id))
	if err == sql.ErrNoRows {
		return nil, fault.New(fault.NotFound, "operation %s not found", id)
	}
	if err != nil {
		return nil, dbErr(ctx, err, "read operation")
	}
	from := o.State
	if err := fn(&o); err != nil {
		return nil, err
	}
	if err := store.OperationTransition(from, o.State); err != nil {
		return nil, err
	}
	o.UpdatedAt = time.Now().UTC()
	if _, err := tx.ExecContext(ctx, `UPDATE operations SET system = ?, kind = ?, entity_ref = ?, external_id = ?, external_url = ?, token = ?,
		state = ?, attempts = ?, next_attempt_at = ?, error_system = ?, error_answer = ?, error_action = ?, cancel_requested = ?, updated_at = ?
		WHERE id = ?`,
		o.System, o.Kind, o.EntityRef, o.ExternalID, o.ExternalURL, o.Token, o.State, o.Attempts, micros(o.NextAttemptAt),
		o.ErrorSystem, o.ErrorAnswer, o.ErrorAction, boolInt(o.CancelRequested), o.UpdatedAt.UnixMicro(), id); err != nil {
		return nil, dbErr(ctx, err, "update operation")
	}
	if err := tx.Commit(); err != nil {
		return nil, dbErr(ctx, err, "commit operation update")
	}
	return &o, nil
}
