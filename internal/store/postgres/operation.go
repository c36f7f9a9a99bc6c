package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
)

var _ store.OperationStore = (*DB)(nil)

const operationColumns = `id, key, task_id, step_id, plugin_id, system, kind, entity_ref, external_id, external_url, token,
	state, attempts, next_attempt_at, error_system, error_answer, error_action, cancel_requested, created_at, updated_at`

func scanOperation(r pgx.Row) (store.Operation, error) {
	var o store.Operation
	var next *time.Time
	if err := r.Scan(&o.ID, &o.Key, &o.TaskID, &o.StepID, &o.PluginID, &o.System, &o.Kind, &o.EntityRef, &o.ExternalID, &o.ExternalURL, &o.Token,
		&o.State, &o.Attempts, &next, &o.ErrorSystem, &o.ErrorAnswer, &o.ErrorAction, &o.CancelRequested, &o.CreatedAt, &o.UpdatedAt); err != nil {
		return o, err
	}
	if next != nil {
		o.NextAttemptAt = next.UTC()
	}
	o.CreatedAt, o.UpdatedAt = o.CreatedAt.UTC(), o.UpdatedAt.UTC()
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
	if o.CreatedAt.IsZero() {
		o.CreatedAt = time.Now()
	}
	if o.UpdatedAt.IsZero() {
		o.UpdatedAt = o.CreatedAt
	}
	tag, err := db.pool.Exec(ctx, "INSERT INTO operations ("+operationColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
		ON CONFLICT DO NOTHING`,
		o.ID, o.Key, o.TaskID, o.StepID, o.PluginID, o.System, o.Kind, o.EntityRef, o.ExternalID, o.ExternalURL, o.Token,
		o.State, o.Attempts, nullTime(o.NextAttemptAt), o.ErrorSystem, o.ErrorAnswer, o.ErrorAction, o.CancelRequested, o.CreatedAt, o.UpdatedAt)
	if err != nil {
		return dbErr(ctx, err, "create operation")
	}
	if tag.RowsAffected() == 0 {
		return fault.New(fault.Conflict, "operation %s already exists", o.ID)
	}
	return nil
}

// OperationGet returns one operation.
func (db *DB) OperationGet(ctx context.Context, id string) (*store.Operation, error) {
	return db.operationOne(ctx, db.pool.QueryRow(ctx, "SELECT "+operationColumns+" FROM operations WHERE id = $1", id), "operation "+id)
}

// OperationGetByKey returns the newest operation with key.
func (db *DB) OperationGetByKey(ctx context.Context, key string) (*store.Operation, error) {
	return db.operationOne(ctx, db.pool.QueryRow(ctx, "SELECT "+operationColumns+" FROM operations WHERE key = $1 ORDER BY created_at DESC, id DESC LIMIT 1", key), "an operation with key "+key)
}

func (db *DB) operationOne(ctx context.Context, row pgx.Row, what string) (*store.Operation, error) {
	o, err := scanOperation(row)
	if errors.Is(err, pgx.ErrNoRows) {
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
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if len(p.State) > 0 {
		where = append(where, "state = ANY("+arg(p.State)+")")
	}
	for _, f := range []struct{ col, v string }{{"system", p.System}, {"task_id", p.TaskID}, {"entity_ref", p.EntityRef}} {
		if f.v != "" {
			where = append(where, f.col+" = "+arg(f.v))
		}
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var res store.OperationListResult
	if err := db.pool.QueryRow(ctx, "SELECT count(*) FROM operations"+cond, args...).Scan(&res.Total); err != nil {
		return res, dbErr(ctx, err, "count operations")
	}
	q := "SELECT " + operationColumns + " FROM operations" + cond + " ORDER BY created_at DESC, id DESC"
	if p.Limit > 0 {
		q += " LIMIT " + arg(p.Limit) + " OFFSET " + arg(p.Offset)
	}
	var err error
	res.Operations, err = appendRows(ctx, db.pool, nil, "operations", q, args, scanOperation)
	return res, err
}

// OperationUpdate changes an operation under a row lock.
func (db *DB) OperationUpdate(ctx context.Context, id string, fn func(*store.Operation) error) (*store.Operation, error) {
	var out store.Operation
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		o, err := scanOperation(tx.QueryRow(ctx, "SELECT "+operationColumns+" FROM operations WHERE id = $1 FOR UPDATE", id))
		if errors.Is(err, pgx.ErrNoRows) {
			return fault.New(fault.NotFound, "operation %s not found", id)
		}
		if err != nil {
			return dbErr(ctx, err, "read operation")
		}
		from := o.State
		if err := fn(&o); err != nil {
			return err
		}
		if err := store.OperationTransition(from, o.State); err != nil {
			return err
		}
		o.UpdatedAt = time.Now().UTC()
		if _, err := tx.Exec(ctx, `UPDATE operations SET system = $1, kind = $2, entity_ref = $3, external_id = $4, external_url = $5, token = $6,
			state = $7, attempts = $8, next_attempt_at = $9, error_system = $10, error_answer = $11, error_action = $12, cancel_requested = $13, updated_at = $14
			WHERE id = $15`,
			o.System, o.Kind, o.EntityRef, o.ExternalID, o.ExternalURL, o.Token, o.State, o.Attempts, nullTime(o.NextAttemptAt),
			o.ErrorSystem, o.ErrorAnswer, o.ErrorAction, o.CancelRequested, o.UpdatedAt, id); err != nil {
			return dbErr(ctx, err, "update operation")
		}
		out = o
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}
