package backup

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Run is one backup or restore, as the backup_runs table remembers it.
type Run struct {
	// Kind is "backup" or "restore"; Trigger "schedule" or "cli".
	Kind     string    `json:"kind"`
	Trigger  string    `json:"trigger"`
	Name     string    `json:"name,omitempty"`
	Target   string    `json:"target,omitempty"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	OK       bool      `json:"ok"`
	Size     int64     `json:"size,omitempty"`
	Error    string    `json:"error,omitempty"`
}

// Status is the last successful and the last failed backup.
type Status struct {
	LastSuccess *Run `json:"lastSuccess,omitempty"`
	LastFailure *Run `json:"lastFailure,omitempty"`
}

// RunLog records runs in the database, so that every replica and the CLI
// share the history.
type RunLog interface {
	Record(ctx context.Context, r Run) error
	// Status returns the last successful and failed backups (not restores).
	Status(ctx context.Context) (Status, error)
}

// NewSQLiteRunLog keeps runs in a SQLite database.
func NewSQLiteRunLog(db *sql.DB) RunLog { return sqliteRuns{db} }

// NewPostgresRunLog keeps runs in a PostgreSQL database.
func NewPostgresRunLog(pool *pgxpool.Pool) RunLog { return pgRuns{pool} }

type sqliteRuns struct{ db *sql.DB }

func (s sqliteRuns) Record(ctx context.Context, r Run) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO backup_runs (kind, trigger, name, target, started_at, finished_at, ok, size, error)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.Kind, r.Trigger, r.Name, r.Target, r.Started.UnixMicro(), r.Finished.UnixMicro(), r.OK, r.Size, r.Error)
	return err
}

func (s sqliteRuns) Status(ctx context.Context) (Status, error) {
	var st Status
	for _, ok := range []bool{true, false} {
		var r Run
		var started, finished int64
		err := s.db.QueryRowContext(ctx, `SELECT kind, trigger, name, target, started_at, finished_at, ok, size, error
			FROM backup_runs WHERE kind = 'backup' AND ok = ? ORDER BY finished_at DESC LIMIT 1`, ok).
			Scan(&r.Kind, &r.Trigger, &r.Name, &r.Target, &started, &finished, &r.OK, &r.Size, &r.Error)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return st, err
		}
		r.Started, r.Finished = time.UnixMicro(started).UTC(), time.UnixMicro(finished).UTC()
		if ok {
			st.LastSuccess = &r
		} else {
			st.LastFailure = &r
		}
	}
	return st, nil
}

type pgRuns struct{ pool *pgxpool.Pool }

func (s pgRuns) Record(ctx context.Context, r Run) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO backup_runs (kind, trigger, name, target, started_at, finished_at, ok, size, error)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, r.Kind, r.Trigger, r.Name, r.Target, r.Started, r.Finished, r.OK, r.Size, r.Error)
	return err
}

func (s pgRuns) Status(ctx context.Context) (Status, error) {
	var st Status
	for _, ok := range []bool{true, false} {
		var r Run
		err := s.pool.QueryRow(ctx, `SELECT kind, trigger, name, target, started_at, finished_at, ok, size, error
			FROM backup_runs WHERE kind = 'backup' AND ok = $1 ORDER BY finished_at DESC LIMIT 1`, ok).
			Scan(&r.Kind, &r.Trigger, &r.Name, &r.Target, &r.Started, &r.Finished, &r.OK, &r.Size, &r.Error)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return st, err
		}
		r.Started, r.Finished = r.Started.UTC(), r.Finished.UTC()
		if ok {
			st.LastSuccess = &r
		} else {
			st.LastFailure = &r
		}
	}
	return st, nil
}
