// Package sqlite is the store.Driver on SQLite (modernc.org/sqlite, pure Go):
// one file in WAL mode, one serialised write connection and a pool of
// read-only connections, migrations embedded in the binary and FTS5 for
// full-text search.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	msqlite "modernc.org/sqlite" // also registers the "sqlite" database/sql driver
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/store/sqlplan"
)

var _ store.Driver = (*DB)(nil)

//go:embed migrations/*.sql
var migrations embed.FS

// Config says where the database lives and how many connections it uses.
type Config struct {
	// Path is the database file; its directory is created when missing.
	Path string
	// MaxReadConns bounds the read pool (default 4). Writes always go
	// through one connection, since SQLite admits one writer at a time.
	MaxReadConns int
	// BusyTimeout is how long a statement waits for a lock held by another
	// connection or process (default 5s).
	BusyTimeout time.Duration
	// CacheSizeKiB is each read connection's page cache (default 4096,
	// 4 MiB; the operating system caches the file as well).
	CacheSizeKiB int
	// WriteCacheSizeKiB is the write connection's page cache (default
	// 16384, 16 MiB): index inserts touch pages all over the indexes.
	// A cache costs about twice its size in memory: each 4 KiB page and
	// its header take an 8 KiB slot of the C allocator under modernc (a
	// 64 MiB cache filled by a scan: 125 MB of RSS). At 100k entities 16
	// MiB instead of 32 took 31 MB off the peak RSS for an ingest CPU time
	// within the noise (docs/benchmarks.md, "Query path and memory work").
	// Together the caches are most of what SQLite adds to the process's
	// memory: at 30k entities, 64 MiB + 4 × 8 MiB gave a peak RSS of 268 MB,
	// 32 MiB + 4 × 4 MiB 195 MB, for the same ingest CPU time.
	WriteCacheSizeKiB int
}

// walCheckpointPages is the write-ahead log's size, in pages, at which the
// writer copies it back into the database (64 MiB with 4 KiB pages).
const walCheckpointPages = "16384"

// walSizeLimit is the size the write-ahead log file is cut back to after a
// checkpoint: one large transaction may grow it past the checkpoint size.
const walSizeLimit = 64 << 20

// DB is a SQLite catalog store.
type DB struct {
	write *sql.DB
	read  *sql.DB
	stmts stmtCache
	// writeCacheKiB is the write connection's configured page cache.
	writeCacheKiB int
	// sets keeps the id sets of filter leaves between counts.
	sets *sqlplan.SetCache
}

// Open opens (creating when absent) the database at cfg.Path. Call Migrate
// before using it.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if cfg.Path == "" {
		return nil, fault.New(fault.Invalid, "sqlite: database path is empty")
	}
	if strings.ContainsAny(cfg.Path, "?#") || cfg.Path == ":memory:" {
		return nil, fault.New(fault.Invalid, "sqlite: database path %q must be a plain file path (no '?', '#' or :memory:)", cfg.Path)
	}
	if cfg.MaxReadConns <= 0 {
		cfg.MaxReadConns = 4
	}
	if cfg.BusyTimeout <= 0 {
		cfg.BusyTimeout = 5 * time.Second
	}
	if cfg.CacheSizeKiB <= 0 {
		cfg.CacheSizeKiB = 4096
	}
	if cfg.WriteCacheSizeKiB <= 0 {
		cfg.WriteCacheSizeKiB = 16384
	}
	if dir := filepath.Dir(cfg.Path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fault.Wrap(fault.Internal, err, "sqlite: create directory for %s", cfg.Path)
		}
	}
	base := fmt.Sprintf("%s?_pragma=busy_timeout(%d)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"+
		"&_pragma=foreign_keys(ON)&_pragma=temp_store(MEMORY)",
		cfg.Path, cfg.BusyTimeout.Milliseconds())

	write, err := sql.Open("sqlite", base+fmt.Sprintf("&_pragma=cache_size(-%d)&_pragma=wal_autocheckpoint(%s)&_pragma=journal_size_limit(%d)&_txlock=immediate", cfg.WriteCacheSizeKiB, walCheckpointPages, walSizeLimit))
	if err != nil {
		return nil, fault.Wrap(fault.Internal, err, "sqlite: open %s", cfg.Path)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	// Connect the writer first so the file exists in WAL mode before any
	// read-only connection opens it.
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fault.Wrap(fault.Unavailable, err, "sqlite: open %s", cfg.Path)
	}
	read, err := sql.Open("sqlite", base+fmt.Sprintf("&_pragma=cache_size(-%d)&_pragma=query_only(1)", cfg.CacheSizeKiB))
	if err != nil {
		write.Close()
		return nil, fault.Wrap(fault.Internal, err, "sqlite: open %s", cfg.Path)
	}
	read.SetMaxOpenConns(cfg.MaxReadConns)
	read.SetMaxIdleConns(cfg.MaxReadConns)
	read.SetConnMaxLifetime(0)
	read.SetConnMaxIdleTime(0)
	return &DB{write: write, read: read, writeCacheKiB: cfg.WriteCacheSizeKiB, sets: sqlplan.NewSetCache(sqlplan.SQLite)}, nil
}

// Engine returns "sqlite".
func (db *DB) Engine() string { return "sqlite" }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.read.PingContext(ctx); err != nil {
		return fault.Wrap(fault.Unavailable, err, "sqlite: ping")
	}
	return nil
}

// Close closes both pools, checkpointing the write-ahead log.
func (db *DB) Close() error {
	db.stmts.close()
	rerr := db.read.Close()
	// Let SQLite refresh its planner statistics before the last writer goes.
	_, _ = db.write.Exec("PRAGMA optimize")
	werr := db.write.Close()
	if werr != nil {
		return werr
	}
	return rerr
}

// Migrate applies the embedded migrations that have not run yet, all in one
// transaction, recording each in schema_migrations.
func (db *DB) Migrate(ctx context.Context) error {
	files, err := migrations.ReadDir("migrations")
	if err != nil {
		return fault.Wrap(fault.Internal, err, "sqlite: read migrations")
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fault.Wrap(fault.Unavailable, err, "sqlite: begin migration")
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		return fault.Wrap(fault.Internal, err, "sqlite: create schema_migrations")
	}
	applied := map[int]bool{}
	rows, err := tx.QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return fault.Wrap(fault.Internal, err, "sqlite: read schema_migrations")
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fault.Wrap(fault.Internal, err, "sqlite: read schema_migrations")
		}
		applied[v] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fault.Wrap(fault.Internal, err, "sqlite: read schema_migrations")
	}
	for _, f := range files {
		v, err := sqlplan.MigrationVersion(f.Name())
		if err != nil {
			return err
		}
		if applied[v] {
			continue
		}
		body, err := migrations.ReadFile("migrations/" + f.Name())
		if err != nil {
			return fault.Wrap(fault.Internal, err, "sqlite: read migration %s", f.Name())
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			return fault.Wrap(fault.Internal, err, "sqlite: apply migration %s", f.Name())
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
			v, f.Name(), time.Now().UnixMicro()); err != nil {
			return fault.Wrap(fault.Internal, err, "sqlite: record migration %s", f.Name())
		}
	}
	if err := tx.Commit(); err != nil {
		return fault.Wrap(fault.Internal, err, "sqlite: commit migrations")
	}
	// A bulk load cut short leaves secondary indexes missing.
	if _, err := db.ensureIndexes(ctx); err != nil {
		return err
	}
	return nil
}

// dbErr wraps a database error as an internal fault, or as Unavailable when
// the context ended.
func dbErr(ctx context.Context, err error, what string) error {
	if ctx.Err() != nil {
		return fault.Wrap(fault.Unavailable, err, "sqlite: %s: %v", what, ctx.Err())
	}
	// A full disk is not a bug: say so, and that it passes once space is
	// freed (SQLite rolls the transaction back; nothing is half-written).
	if se := (*msqlite.Error)(nil); errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_FULL {
		return fault.Wrap(fault.Unavailable, err, "sqlite: %s: the disk of the database is full; "+
			"nothing was written, and writes work again once space is freed", what)
	}
	return fault.Wrap(fault.Internal, err, "sqlite: %s", what)
}
