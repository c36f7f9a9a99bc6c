package backup

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/atrium-portal/atrium/internal/fault"
)

// The states of a run.
const (
	StateRunning   = "running"
	StateSucceeded = "succeeded"
	StateFailed    = "failed"
)

// Heartbeat is how often a running backup tells the database it is alive;
// a running backup whose heartbeat is older than StaleAfter was stopped
// with its process and is marked failed with InterruptedError.
const (
	Heartbeat  = 5 * time.Second
	StaleAfter = 30 * time.Second
)

// InterruptedError is the error of a backup whose process stopped (was
// killed, crashed, lost its database) before it finished.
const InterruptedError = "interrupted: the server stopped during the backup"

// Run is one backup or restore, as the backup_runs table remembers it.
type Run struct {
	ID int64 `json:"id"`
	// Kind is "backup" or "restore"; Trigger "schedule", "cli" or "api".
	Kind    string `json:"kind"`
	Trigger string `json:"trigger"`
	// State is StateRunning, StateSucceeded or StateFailed.
	State   string    `json:"state"`
	Name    string    `json:"name,omitempty"`
	Target  string    `json:"target,omitempty"`
	Started time.Time `json:"started"`
	// Finished is zero while the run is running.
	Finished time.Time `json:"finished,omitzero"`
	OK       bool      `json:"ok"`
	Size     int64     `json:"size,omitempty"`
	Error    string    `json:"error,omitempty"`
}

// Duration is how long the run took (so far, while it runs).
func (r Run) Duration() time.Duration {
	if r.State == StateRunning {
		return time.Since(r.Started).Round(time.Second)
	}
	return r.Finished.Sub(r.Started).Round(time.Millisecond)
}

// Status is the last successful and the last failed backup.
type Status struct {
	LastSuccess *Run `json:"lastSuccess,omitempty"`
	LastFailure *Run `json:"lastFailure,omitempty"`
}

// RunLog records runs in the database, so that every replica and the CLI
// share the history.
type RunLog interface {
	// Record adds a finished run.
	Record(ctx context.Context, r Run) error
	// Start adds r as running and returns its id, after marking runs whose
	// heartbeat stopped as interrupted; a fault.Conflict when a run of the
	// same kind is still running.
	Start(ctx context.Context, r Run) (int64, error)
	// Beat renews a running run's heartbeat; false when the run is no
	// longer running (it was marked interrupted).
	Beat(ctx context.Context, id int64) (bool, error)
	// Finish stores the outcome of the running run r.ID.
	Finish(ctx context.Context, r Run) error
	// Sweep marks running runs whose heartbeat is older than StaleAfter as
	// failed with InterruptedError and returns them.
	Sweep(ctx context.Context) ([]Run, error)
	// List returns the newest runs first, at most limit.
	List(ctx context.Context, limit int) ([]Run, error)
	// Get returns one run; fault.NotFound when there is none.
	Get(ctx context.Context, id int64) (Run, error)
	// Status returns the last successful and failed backups (not restores).
	Status(ctx context.Context) (Status, error)
}

// NewSQLiteRunLog keeps runs in a SQLite database.
func NewSQLiteRunLog(db *sql.DB) RunLog { return sqliteRuns{db} }

// NewPostgresRunLog keeps runs in a PostgreSQL database.
func NewPostgresRunLog(pool *pgxpool.Pool) RunLog { return pgRuns{pool} }

// finalState is the state of a finished run.
// rowScanner is a row of either engine (*sql.Row, *sql.Rows, pgx.Row,
// pgx.Rows).
type rowScanner interface{ Scan(dest ...any) error }

// collectRuns scans every row of either engine with scan.
func collectRuns(rows interface {
	rowScanner
	Next() bool
	Err() error
}, scan func(rowScanner) (Run, error)) ([]Run, error) {
	out := []Run{}
	for rows.Next() {
		r, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// lastRuns is Status from last, which returns the latest finished backup
// that succeeded (ok) or failed (fault.NotFound when none).
func lastRuns(last func(ok bool) (Run, error)) (Status, error) {
	var st Status
	for _, ok := range []bool{true, false} {
		r, err := last(ok)
		if fault.Is(err, fault.NotFound) {
			continue
		}
		if err != nil {
			return st, err
		}
		if ok {
			st.LastSuccess = &r
		} else {
			st.LastFailure = &r
		}
	}
	return st, nil
}

func finalState(ok bool) string {
	if ok {
		return StateSucceeded
	}
	return StateFailed
}

func conflict(kind string, running Run, err error) error {
	return fault.Wrap(fault.Conflict, err, "a %s is already running (run %d, started %s by %s)",
		kind, running.ID, running.Started.Format(time.RFC3339), running.Trigger)
}

// isUnique reports whether err is a unique-constraint violation.
func isUnique(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "UNIQUE constraint failed") || strings.Contains(s, "SQLSTATE 23505")
}

const backupRunColumns = `id, kind, trigger, state, name, target, started_at, finished_at, ok, size, error`

type sqliteRuns struct{ db *sql.DB }

func (s sqliteRuns) Record(ctx context.Context, r Run) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO backup_runs (kind, trigger, state, name, target, started_at, finished_at, ok, size, error)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.Kind, r.Trigger, finalState(r.OK), r.Name, r.Target, r.Started.UnixMicro(), r.Finished.UnixMicro(), r.OK, r.Size, r.Error)
	return err
}

func (s sqliteRuns) Start(ctx context.Context, r Run) (int64, error) {
	if _, err := s.Sweep(ctx); err != nil {
		return 0, err
	}
	now := time.Now().UnixMicro()
	var id int64
	err := s.db.QueryRowContext(ctx, `INSERT INTO backup_runs (kind, trigger, state, name, target, started_at, finished_at, heartbeat_at, holder, ok, size, error)
		VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, false, 0, '') RETURNING id`, r.Kind, r.Trigger, r.Name, r.Target, r.Started.UnixMicro(), r.Started.UnixMicro(), now, holder()).Scan(&id)
	if isUnique(err) {
		running, _ := s.one(ctx, `WHERE kind = ? AND state = 'running' LIMIT 1`, r.Kind)
		return 0, conflict(r.Kind, running, err)
	}
	return id, err
}

func (s sqliteRuns) Beat(ctx context.Context, id int64) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE backup_runs SET heartbeat_at = ? WHERE id = ? AND state = 'running'`, time.Now().UnixMicro(), id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s sqliteRuns) Finish(ctx context.Context, r Run) error {
	_, err := s.db.ExecContext(ctx, `UPDATE backup_runs SET state = ?, name = ?, target = ?, finished_at = ?, ok = ?, size = ?, error = ? WHERE id = ?`,
		finalState(r.OK), r.Name, r.Target, r.Finished.UnixMicro(), r.OK, r.Size, r.Error, r.ID)
	return err
}

func (s sqliteRuns) Sweep(ctx context.Context) ([]Run, error) {
	var holders []string
	hrows, err := s.db.QueryContext(ctx, `SELECT DISTINCT holder FROM backup_runs WHERE state = 'running' AND holder <> ''`)
	if err != nil {
		return nil, err
	}
	for hrows.Next() {
		var h string
		if err := hrows.Scan(&h); err != nil {
			hrows.Close()
			return nil, err
		}
		holders = append(holders, h)
	}
	hrows.Close()
	dead, _ := json.Marshal(deadHolders(holders))
	rows, err := s.db.QueryContext(ctx, `UPDATE backup_runs SET state = 'failed', ok = false, error = ?, finished_at = heartbeat_at
		WHERE state = 'running' AND (heartbeat_at < ? OR holder IN (SELECT value FROM json_each(?))) RETURNING `+backupRunColumns,
		InterruptedError, time.Now().Add(-StaleAfter).UnixMicro(), string(dead))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return collectRuns(rows, scanSQLiteRun)
}

func (s sqliteRuns) List(ctx context.Context, limit int) ([]Run, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+backupRunColumns+` FROM backup_runs ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return collectRuns(rows, scanSQLiteRun)
}

func (s sqliteRuns) Get(ctx context.Context, id int64) (Run, error) {
	return s.one(ctx, `WHERE id = ?`, id)
}

func (s sqliteRuns) one(ctx context.Context, where string, args ...any) (Run, error) {
	r, err := scanSQLiteRun(s.db.QueryRowContext(ctx, `SELECT `+backupRunColumns+` FROM backup_runs `+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fault.New(fault.NotFound, "no backup run %v", args[len(args)-1])
	}
	return r, err
}

func scanSQLiteRun(row rowScanner) (Run, error) {
	var r Run
	var started, finished int64
	err := row.Scan(&r.ID, &r.Kind, &r.Trigger, &r.State, &r.Name, &r.Target, &started, &finished, &r.OK, &r.Size, &r.Error)
	r.Started, r.Finished = time.UnixMicro(started).UTC(), time.UnixMicro(finished).UTC()
	if r.State == StateRunning {
		r.Finished = time.Time{}
	}
	return r, err
}

func (s sqliteRuns) Status(ctx context.Context) (Status, error) {
	return lastRuns(func(ok bool) (Run, error) {
		return s.one(ctx, `WHERE kind = 'backup' AND ok = ? AND state <> 'running' ORDER BY finished_at DESC, id DESC LIMIT 1`, ok)
	})
}

type pgRuns struct{ pool *pgxpool.Pool }

func (s pgRuns) Record(ctx context.Context, r Run) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO backup_runs (kind, trigger, state, name, target, started_at, finished_at, ok, size, error)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, r.Kind, r.Trigger, finalState(r.OK), r.Name, r.Target, r.Started, r.Finished, r.OK, r.Size, r.Error)
	return err
}

func (s pgRuns) Start(ctx context.Context, r Run) (int64, error) {
	if _, err := s.Sweep(ctx); err != nil {
		return 0, err
	}
	var id int64
	err := s.pool.QueryRow(ctx, `INSERT INTO backup_runs (kind, trigger, state, name, target, started_at, finished_at, heartbeat_at, holder, ok, size, error)
		VALUES ($1, $2, 'running', $3, $4, $5, $5, now(), $6, false, 0, '') RETURNING id`, r.Kind, r.Trigger, r.Name, r.Target, r.Started, holder()).Scan(&id)
	if isUnique(err) {
		running, _ := s.one(ctx, `WHERE kind = $1 AND state = 'running' LIMIT 1`, r.Kind)
		return 0, conflict(r.Kind, running, err)
	}
	return id, err
}

func (s pgRuns) Beat(ctx context.Context, id int64) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE backup_runs SET heartbeat_at = now() WHERE id = $1 AND state = 'running'`, id)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

func (s pgRuns) Finish(ctx context.Context, r Run) error {
	_, err := s.pool.Exec(ctx, `UPDATE backup_runs SET state = $1, name = $2, target = $3, finished_at = $4, ok = $5, size = $6, error = $7 WHERE id = $8`,
		finalState(r.OK), r.Name, r.Target, r.Finished, r.OK, r.Size, r.Error, r.ID)
	return err
}

func (s pgRuns) Sweep(ctx context.Context) ([]Run, error) {
	hrows, err := s.pool.Query(ctx, `SELECT DISTINCT holder FROM backup_runs WHERE state = 'running' AND holder <> ''`)
	if err != nil {
		return nil, err
	}
	holders, err := pgx.CollectRows(hrows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `UPDATE backup_runs SET state = 'failed', ok = false, error = $1, finished_at = coalesce(heartbeat_at, started_at)
		WHERE state = 'running' AND (heartbeat_at IS NULL OR heartbeat_at < now() - make_interval(secs => $2) OR holder = ANY($3))
		RETURNING `+backupRunColumns,
		InterruptedError, StaleAfter.Seconds(), deadHolders(holders))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return collectRuns(rows, scanPGRun)
}

func (s pgRuns) List(ctx context.Context, limit int) ([]Run, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+backupRunColumns+` FROM backup_runs ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return collectRuns(rows, scanPGRun)
}

func (s pgRuns) Get(ctx context.Context, id int64) (Run, error) {
	return s.one(ctx, `WHERE id = $1`, id)
}

func (s pgRuns) one(ctx context.Context, where string, args ...any) (Run, error) {
	r, err := scanPGRun(s.pool.QueryRow(ctx, `SELECT `+backupRunColumns+` FROM backup_runs `+where, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, fault.New(fault.NotFound, "no backup run %v", args[len(args)-1])
	}
	return r, err
}

func scanPGRun(row rowScanner) (Run, error) {
	var r Run
	err := row.Scan(&r.ID, &r.Kind, &r.Trigger, &r.State, &r.Name, &r.Target, &r.Started, &r.Finished, &r.OK, &r.Size, &r.Error)
	r.Started, r.Finished = r.Started.UTC(), r.Finished.UTC()
	if r.State == StateRunning {
		r.Finished = time.Time{}
	}
	return r, err
}

func (s pgRuns) Status(ctx context.Context) (Status, error) {
	return lastRuns(func(ok bool) (Run, error) {
		return s.one(ctx, `WHERE kind = 'backup' AND ok = $1 AND state <> 'running' ORDER BY finished_at DESC, id DESC LIMIT 1`, ok)
	})
}
