package backup

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"modernc.org/sqlite"
)

// openSQLite opens one connection to the database file at path.
func openSQLite(path string, readOnly bool) (*sql.DB, error) {
	dsn := path + "?_pragma=busy_timeout(30000)"
	if readOnly {
		dsn += "&_pragma=query_only(1)"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// snapshotSQLite writes a consistent copy of the live database at src to
// dst with VACUUM INTO, which reads inside one transaction while the
// server keeps writing, and checks the copy.
func snapshotSQLite(ctx context.Context, src, dst string) error {
	db, err := openSQLite(src, false)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dst); err != nil {
		return fmt.Errorf("SQLite snapshot of %s: %w", src, err)
	}
	snap, err := openSQLite(dst, true)
	if err != nil {
		return err
	}
	defer snap.Close()
	var res string
	if err := snap.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&res); err != nil || res != "ok" {
		return fmt.Errorf("SQLite snapshot of %s failed its check: %v %s", src, err, res)
	}
	return nil
}

// describeSQLite returns the tables with row counts and the applied
// migrations of the database at path.
func describeSQLite(ctx context.Context, path string) ([]Table, []int, error) {
	db, err := openSQLite(path, true)
	if err != nil {
		return nil, nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
	if err != nil {
		return nil, nil, err
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, nil, err
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	tables := make([]Table, 0, len(names))
	for _, n := range names {
		var c int64
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM "`+strings.ReplaceAll(n, `"`, `""`)+`"`).Scan(&c); err != nil {
			// Virtual tables (FTS5) are counted through their shadow tables.
			continue
		}
		tables = append(tables, Table{Name: n, Rows: c})
	}
	versions, err := sqliteMigrations(ctx, db)
	return tables, versions, err
}

func sqliteMigrations(ctx context.Context, db *sql.DB) ([]int, error) {
	rows, err := db.QueryContext(ctx, "SELECT version FROM schema_migrations ORDER BY version")
	if err != nil {
		return nil, fmt.Errorf("reading schema_migrations: %w", err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// restoreSQLite copies the snapshot at src over the live database at dst
// with SQLite's online backup API: the copy happens under the database's
// write lock, so connections of a running server see the old content or
// the new, never a mix.
func restoreSQLite(ctx context.Context, src, dst string) error {
	db, err := openSQLite(dst, false)
	if err != nil {
		return err
	}
	defer db.Close()
	// The history of backups belongs to the database restored into, as on
	// PostgreSQL, where backup_runs is not exported: keep it.
	runs, keepRuns := readRunRows(ctx, db)
	if err := copySQLite(ctx, db, src, dst); err != nil {
		return err
	}
	if keepRuns {
		if err := writeRunRows(ctx, db, runs); err != nil {
			return fmt.Errorf("restored %s, but keeping its backup history failed: %w", dst, err)
		}
	}
	return nil
}

// runRow is one backup_runs row, columns in table order.
type runRow [10]any

const runColumns = "id, kind, trigger, name, target, started_at, finished_at, ok, size, error"

func readRunRows(ctx context.Context, db *sql.DB) ([]runRow, bool) {
	rows, err := db.QueryContext(ctx, "SELECT "+runColumns+" FROM backup_runs ORDER BY id")
	if err != nil {
		return nil, false
	}
	defer rows.Close()
	var out []runRow
	for rows.Next() {
		var r runRow
		ptrs := make([]any, len(r))
		for i := range r {
			ptrs[i] = &r[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, false
		}
		out = append(out, r)
	}
	return out, rows.Err() == nil
}

func writeRunRows(ctx context.Context, db *sql.DB, runs []runRow) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "DELETE FROM backup_runs"); err != nil {
		return err
	}
	for _, r := range runs {
		if _, err := tx.ExecContext(ctx, "INSERT INTO backup_runs ("+runColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", r[:]...); err != nil {
			return err
		}
	}
	// The rows' states follow their outcome (a snapshot older than the
	// state column gets it, with the same values, when it is migrated).
	if _, err := tx.ExecContext(ctx, "UPDATE backup_runs SET state = CASE WHEN ok THEN 'succeeded' ELSE 'failed' END"); err != nil &&
		!strings.Contains(err.Error(), "no such column") {
		return err
	}
	return tx.Commit()
}

// copySQLite copies the snapshot at src over the database of db.
func copySQLite(ctx context.Context, db *sql.DB, src, dst string) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("opening %s: %w", dst, err)
	}
	defer conn.Close()
	srcURI := "file:" + (&url.URL{Path: src}).EscapedPath() + "?mode=ro"
	return conn.Raw(func(dc any) error {
		r, ok := dc.(interface {
			NewRestore(string) (*sqlite.Backup, error)
		})
		if !ok {
			return errors.New("the SQLite driver offers no restore")
		}
		b, err := r.NewRestore(srcURI)
		if err != nil {
			return fmt.Errorf("restoring into %s: %w", dst, err)
		}
		for {
			more, err := b.Step(1024)
			if err != nil {
				_ = b.Finish()
				return fmt.Errorf("restoring into %s: %w", dst, err)
			}
			if !more {
				break
			}
			if ctx.Err() != nil {
				_ = b.Finish()
				return ctx.Err()
			}
		}
		if err := b.Finish(); err != nil {
			return fmt.Errorf("restoring into %s: %w", dst, err)
		}
		return nil
	})
}

// leaderActive reports whether a River client elected a leader that has
// not expired: a server is running on the database.
func leaderActive(expires []any, now time.Time) bool {
	for _, v := range expires {
		var t time.Time
		switch x := v.(type) {
		case time.Time:
			t = x
		case string:
			for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
				if p, err := time.Parse(layout, x); err == nil {
					t = p
					break
				}
			}
		case []byte:
			return leaderActive([]any{string(x)}, now)
		}
		if t.After(now) {
			return true
		}
	}
	return false
}

// sqliteServerRunning reports whether a server works on the database at path.
func sqliteServerRunning(ctx context.Context, path string) (bool, error) {
	db, err := openSQLite(path, true)
	if err != nil {
		return false, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "SELECT expires_at FROM river_leader")
	if err != nil {
		// No River tables: no server ever ran here.
		return false, nil
	}
	defer rows.Close()
	var vals []any
	for rows.Next() {
		var v any
		if err := rows.Scan(&v); err != nil {
			return false, err
		}
		vals = append(vals, v)
	}
	return leaderActive(vals, time.Now()), rows.Err()
}
