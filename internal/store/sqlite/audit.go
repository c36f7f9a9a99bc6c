package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
)

var _ store.AuditStore = (*DB)(nil)

const auditColumns = "seq, at, actor, action, resource, outcome, request_id, body, prev_hash, hash"

// AuditAppend appends one record. The single write connection and BEGIN
// IMMEDIATE serialise appends within this process and across processes
// sharing the file.
func (db *DB) AuditAppend(ctx context.Context, p store.AuditAppendParams) (store.AuditRecord, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return store.AuditRecord{}, dbErr(ctx, err, "begin audit append")
	}
	defer tx.Rollback()
	var seq int64
	var hash string
	if err := tx.QueryRowContext(ctx, "SELECT seq, hash FROM audit_head WHERE id = 1").Scan(&seq, &hash); err != nil {
		return store.AuditRecord{}, dbErr(ctx, err, "read audit head")
	}
	rec, err := p.Seal(seq+1, hash)
	if err != nil {
		return store.AuditRecord{}, err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO audit_events ("+auditColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		rec.Seq, rec.Time.UnixMicro(), rec.Actor, rec.Action, rec.Resource, rec.Outcome, rec.RequestID,
		string(rec.Body), rec.PrevHash, rec.Hash); err != nil {
		return store.AuditRecord{}, dbErr(ctx, err, "append audit record")
	}
	if _, err := tx.ExecContext(ctx, "UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", rec.Seq, rec.Hash); err != nil {
		return store.AuditRecord{}, dbErr(ctx, err, "advance audit head")
	}
	if err := tx.Commit(); err != nil {
		return store.AuditRecord{}, dbErr(ctx, err, "commit audit append")
	}
	return rec, nil
}

// AuditList returns matching records, newest first.
func (db *DB) AuditList(ctx context.Context, p store.AuditListParams) ([]store.AuditRecord, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		where = append(where, cond)
		args = append(args, v)
	}
	if p.Actor != "" {
		add("actor = ?", p.Actor)
	}
	if p.Action != "" {
		add("action = ?", p.Action)
	}
	if p.Resource != "" {
		add("substr(resource, 1, ?) = ?", len(p.Resource))
		args = append(args, p.Resource)
	}
	if p.Outcome != "" {
		add("outcome = ?", p.Outcome)
	}
	if !p.From.IsZero() {
		add("at >= ?", p.From.UnixMicro())
	}
	if !p.To.IsZero() {
		add("at < ?", p.To.UnixMicro())
	}
	if p.Before > 0 {
		add("seq < ?", p.Before)
	}
	q := "SELECT " + auditColumns + " FROM audit_events"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY seq DESC"
	if p.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, p.Limit)
	}
	return db.auditQuery(ctx, q, args...)
}

// AuditScan returns records after a sequence number, in order.
func (db *DB) AuditScan(ctx context.Context, after int64, limit int) ([]store.AuditRecord, error) {
	if limit <= 0 {
		return nil, fault.New(fault.Invalid, "audit scan needs a positive limit")
	}
	return db.auditQuery(ctx, "SELECT "+auditColumns+" FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?", after, limit)
}

func (db *DB) auditQuery(ctx context.Context, q string, args ...any) ([]store.AuditRecord, error) {
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, dbErr(ctx, err, "read audit records")
	}
	defer rows.Close()
	var out []store.AuditRecord
	for rows.Next() {
		var r store.AuditRecord
		var at int64
		var body string
		if err := rows.Scan(&r.Seq, &at, &r.Actor, &r.Action, &r.Resource, &r.Outcome, &r.RequestID, &body, &r.PrevHash, &r.Hash); err != nil {
			return nil, dbErr(ctx, err, "read audit record")
		}
		r.Time = time.UnixMicro(at).UTC()
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
	var prunedAt int64
	err := db.read.QueryRowContext(ctx, "SELECT seq, hash, cp_seq, cp_hash, cp_count, cp_pruned_at, cp_digest FROM audit_head WHERE id = 1").
		Scan(&h.Seq, &h.Hash, &cp.Seq, &cp.Hash, &cp.Count, &prunedAt, &cp.Digest)
	if err == sql.ErrNoRows {
		return h, fault.New(fault.Internal, "sqlite: the audit head row is missing")
	}
	if err != nil {
		return h, dbErr(ctx, err, "read audit head")
	}
	if cp.Seq > 0 || cp.Digest != "" {
		cp.PrunedAt = time.UnixMicro(prunedAt).UTC()
		h.Checkpoint = &cp
	}
	return h, nil
}

// AuditPrune deletes the prefix through p.Through and stores the checkpoint.
func (db *DB) AuditPrune(ctx context.Context, p store.AuditPruneParams) (int64, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return 0, dbErr(ctx, err, "begin audit prune")
	}
	defer tx.Rollback()
	cp := p.Checkpoint
	if _, err := tx.ExecContext(ctx, `UPDATE audit_head SET pruning = 1, cp_seq = ?, cp_hash = ?, cp_count = ?,
		cp_pruned_at = ?, cp_digest = ? WHERE id = 1`, cp.Seq, cp.Hash, cp.Count, cp.PrunedAt.UnixMicro(), cp.Digest); err != nil {
		return 0, dbErr(ctx, err, "write audit checkpoint")
	}
	res, err := tx.ExecContext(ctx, "DELETE FROM audit_events WHERE seq <= ?", p.Through)
	if err != nil {
		return 0, dbErr(ctx, err, "prune audit records")
	}
	n, _ := res.RowsAffected()
	if _, err := tx.ExecContext(ctx, "UPDATE audit_head SET pruning = 0 WHERE id = 1"); err != nil {
		return 0, dbErr(ctx, err, "finish audit prune")
	}
	if err := tx.Commit(); err != nil {
		return 0, dbErr(ctx, err, "commit audit prune")
	}
	return n, nil
}

// AuditCountByHour counts records per hour and outcome.
func (db *DB) AuditCountByHour(ctx context.Context, from, to time.Time) ([]store.AuditHourCount, error) {
	const hour = int64(time.Hour / time.Microsecond)
	rows, err := db.read.QueryContext(ctx, `SELECT (at / ?) * ?, outcome, count(*) FROM audit_events
		WHERE at >= ? AND at < ? GROUP BY 1, 2 ORDER BY 1, 2`, hour, hour, from.UnixMicro(), to.UnixMicro())
	if err != nil {
		return nil, dbErr(ctx, err, "count audit records")
	}
	defer rows.Close()
	var out []store.AuditHourCount
	for rows.Next() {
		var c store.AuditHourCount
		var at int64
		if err := rows.Scan(&at, &c.Outcome, &c.Count); err != nil {
			return nil, dbErr(ctx, err, "count audit records")
		}
		c.Hour = time.UnixMicro(at).UTC()
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(ctx, err, "count audit records")
	}
	return out, nil
}
