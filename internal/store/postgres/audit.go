package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
)

var _ store.AuditStore = (*DB)(nil)

const auditColumns = "seq, at, actor, action, resource, outcome, request_id, body, prev_hash, hash"

// AuditAppend appends one record. Every append locks the chain-head row
// (SELECT … FOR UPDATE), so appends from any number of replicas are
// serialised and the chain never forks.
func (db *DB) AuditAppend(ctx context.Context, p store.AuditAppendParams) (store.AuditRecord, error) {
	var rec store.AuditRecord
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var seq int64
		var hash string
		if err := tx.QueryRow(ctx, "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE").Scan(&seq, &hash); err != nil {
			return dbErr(ctx, err, "lock audit head")
		}
		var err error
		if rec, err = p.Seal(seq+1, hash); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "INSERT INTO audit_events ("+auditColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
			rec.Seq, rec.Time, rec.Actor, rec.Action, rec.Resource, rec.Outcome, rec.RequestID,
			string(rec.Body), rec.PrevHash, rec.Hash); err != nil {
			return dbErr(ctx, err, "append audit record")
		}
		if _, err := tx.Exec(ctx, "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1", rec.Seq, rec.Hash); err != nil {
			return dbErr(ctx, err, "advance audit head")
		}
		return nil
	})
	if err != nil {
		return store.AuditRecord{}, dbErr(ctx, err, "append audit record")
	}
	return rec, nil
}

// AuditList returns matching records, newest first.
func (db *DB) AuditList(ctx context.Context, p store.AuditListParams) ([]store.AuditRecord, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if p.Actor != "" {
		add("actor = $%d", p.Actor)
	}
	if p.Action != "" {
		add("action = $%d", p.Action)
	}
	if p.Resource != "" {
		add("starts_with(resource, $%d)", p.Resource)
	}
	if p.Outcome != "" {
		add("outcome = $%d", p.Outcome)
	}
	if !p.From.IsZero() {
		add("at >= $%d", p.From)
	}
	if !p.To.IsZero() {
		add("at < $%d", p.To)
	}
	if p.Before > 0 {
		add("seq < $%d", p.Before)
	}
	q := "SELECT " + auditColumns + " FROM audit_events"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY seq DESC"
	if p.Limit > 0 {
		args = append(args, p.Limit)
		q += fmt.Sprintf(" LIMIT $%d", len(args))
	}
	return db.auditQuery(ctx, q, args...)
}

// AuditScan returns records after a sequence number, in order.
func (db *DB) AuditScan(ctx context.Context, after int64, limit int) ([]store.AuditRecord, error) {
	if limit <= 0 {
		return nil, fault.New(fault.Invalid, "audit scan needs a positive limit")
	}
	return db.auditQuery(ctx, "SELECT "+auditColumns+" FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2", after, limit)
}

func (db *DB) auditQuery(ctx context.Context, q string, args ...any) ([]store.AuditRecord, error) {
	rows, err := db.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, dbErr(ctx, err, "read audit records")
	}
	defer rows.Close()
	var out []store.AuditRecord
	for rows.Next() {
		var r store.AuditRecord
		var body string
		if err := rows.Scan(&r.Seq, &r.Time, &r.Actor, &r.Action, &r.Resource, &r.Outcome, &r.RequestID, &body, &r.PrevHash, &r.Hash); err != nil {
			return nil, dbErr(ctx, err, "read audit record")
		}
		r.Time = r.Time.UTC()
		r.Body = []byte(body)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(ctx, err, "read audit records")
	}
	return out, nil
}

// AuditHead returns the chain head and the prune checkpoint.
func (db *DB) AuditHead(ctx context.Context) (store.AuditHead, error) {
	var h store.AuditHead
	var cp store.AuditCheckpoint
	var prunedAt *time.Time
	err := db.pool.QueryRow(ctx, "SELECT seq, hash, cp_seq, cp_hash, cp_count, cp_pruned_at, cp_digest FROM audit_head WHERE id = 1").
		Scan(&h.Seq, &h.Hash, &cp.Seq, &cp.Hash, &cp.Count, &prunedAt, &cp.Digest)
	if err == pgx.ErrNoRows {
		return h, fault.New(fault.Internal, "postgres: the audit head row is missing")
	}
	if err != nil {
		return h, dbErr(ctx, err, "read audit head")
	}
	if cp.Seq > 0 || cp.Digest != "" {
		if prunedAt != nil {
			cp.PrunedAt = prunedAt.UTC()
		}
		h.Checkpoint = &cp
	}
	return h, nil
}

// AuditPrune deletes the prefix through p.Through and stores the checkpoint,
// holding the chain-head lock so no append interleaves.
func (db *DB) AuditPrune(ctx context.Context, p store.AuditPruneParams) (int64, error) {
	var n int64
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		cp := p.Checkpoint
		if _, err := tx.Exec(ctx, `UPDATE audit_head SET pruning = true, cp_seq = $1, cp_hash = $2, cp_count = $3,
			cp_pruned_at = $4, cp_digest = $5 WHERE id = 1`, cp.Seq, cp.Hash, cp.Count, cp.PrunedAt, cp.Digest); err != nil {
			return dbErr(ctx, err, "write audit checkpoint")
		}
		tag, err := tx.Exec(ctx, "DELETE FROM audit_events WHERE seq <= $1", p.Through)
		if err != nil {
			return dbErr(ctx, err, "prune audit records")
		}
		n = tag.RowsAffected()
		if _, err := tx.Exec(ctx, "UPDATE audit_head SET pruning = false WHERE id = 1"); err != nil {
			return dbErr(ctx, err, "finish audit prune")
		}
		return nil
	})
	return n, err
}

// AuditCountByHour counts records per hour and outcome.
func (db *DB) AuditCountByHour(ctx context.Context, from, to time.Time) ([]store.AuditHourCount, error) {
	rows, err := db.pool.Query(ctx, `SELECT date_trunc('hour', at AT TIME ZONE 'UTC'), outcome, count(*) FROM audit_events
		WHERE at >= $1 AND at < $2 GROUP BY 1, 2 ORDER BY 1, 2`, from, to)
	if err != nil {
		return nil, dbErr(ctx, err, "count audit records")
	}
	defer rows.Close()
	var out []store.AuditHourCount
	for rows.Next() {
		var c store.AuditHourCount
		var count int64
		if err := rows.Scan(&c.Hour, &c.Outcome, &count); err != nil {
			return nil, dbErr(ctx, err, "count audit records")
		}
		c.Hour = c.Hour.UTC()
		c.Count = int(count)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(ctx, err, "count audit records")
	}
	return out, nil
}
