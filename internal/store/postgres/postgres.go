// Package postgres is the store.Driver on PostgreSQL through pgx/v5: one
// bounded pgxpool per process, a statement timeout on every connection,
// migrations embedded in the binary and applied under an advisory lock (so
// replicas can start together), tsvector with GIN for full-text search.
package postgres

import (
	"context"
	"embed"
	"errors"
	"io"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/store/sqlplan"
)

var _ store.Driver = (*DB)(nil)

//go:embed migrations/*.sql
var migrations embed.FS

// Config says where the database is and how the pool behaves.
type Config struct {
	// URL is a libpq-style URL or keyword/value string; other runtime
	// parameters (search_path, …) may be given in it.
	URL string
	// MaxConns bounds the connections the store opens (default
	// DefaultMaxConns). Lookups by ref and by uid run on a pool of their
	// own that takes a third of them (see lookupConns); the rest, at least
	// one, is the main pool's. Only with MaxConns 1 does the store open
	// two connections.
	MaxConns int32
	// StatementTimeout cancels any statement running longer (default 30s).
	StatementTimeout time.Duration
	// Password, when set, is called each time a connection opens and
	// replaces the URL's password: a rotated password reaches new
	// connections while open ones carry on.
	Password func() string
	// LookupBatch bounds how many concurrent lookups by ref or by uid one
	// statement carries (default DefaultLookupBatch); 1 sends each lookup
	// alone. See coalescer.
	LookupBatch int
}

// DefaultMaxConns returns the default bound on the connections a store
// opens: pgxpool's default for everything but lookups (the larger of 4
// and the number of CPUs), plus 2 for the lookups (see lookupConns). More
// statements at once than the database server's cores can run lengthen
// the slow pages' tail: at 100k entities on 2 cores, 8 connections for
// the pages instead of 4 took a by-query page's p99 from 13 to 17-20 ms
// (docs/benchmarks.md).
func DefaultMaxConns() int32 { return int32(max(4, runtime.NumCPU())) + 2 }

// DB is a PostgreSQL catalog store.
type DB struct {
	pool *pgxpool.Pool
	// bulk is set while this process runs a bulk load (see bulk.go).
	bulk atomic.Bool
	// sets keeps the id sets of filter leaves between counts.
	sets *sqlplan.SetCache
	// life ends at Close; background work (the vacuum after a bulk load)
	// runs under it and Close waits for it.
	life     context.Context
	stopLife context.CancelFunc
	bg       sync.WaitGroup
	// byRef and byUID coalesce concurrent single-entity lookups.
	byRef, byUID *coalescer
	// lookups is the pool those lookups run on (see lookupPoolConfig).
	lookups *pgxpool.Pool
}

// Open connects a pool to cfg.URL and checks that the server answers. Call
// Migrate before using it.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if cfg.URL == "" {
		return nil, fault.New(fault.Invalid, "postgres: connection URL is empty")
	}
	pc, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		// The cause may echo the URL with its password: keep it out of the message.
		return nil, fault.Wrap(fault.Invalid, err, "postgres: connection URL is not valid")
	}
	pc.MaxConns = DefaultMaxConns()
	if cfg.MaxConns > 0 {
		pc.MaxConns = cfg.MaxConns
	}
	timeout := cfg.StatementTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	pc.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(timeout.Milliseconds(), 10)
	// pgx prepares and caches every statement; after five runs PostgreSQL
	// may switch to a generic plan that cannot see which filter value is
	// selective (kind=component,relations.ownedby=<team>: 448 ms generic,
	// under 1 ms custom, at 10k entities). Plan every execution.
	pc.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	if cfg.Password != nil {
		pc.BeforeConnect = func(_ context.Context, cc *pgx.ConnConfig) error {
			if pw := cfg.Password(); pw != "" {
				cc.Password = pw
			}
			return nil
		}
	}
	lc := lookupPoolConfig(pc, cfg.LookupBatch)
	pc.MaxConns = max(1, pc.MaxConns-lc.MaxConns)
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fault.Wrap(fault.Unavailable, err, "postgres: connect")
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fault.Wrap(fault.Unavailable, err, "postgres: connect")
	}
	lookups, err := pgxpool.NewWithConfig(ctx, lc)
	if err != nil {
		pool.Close()
		return nil, fault.Wrap(fault.Unavailable, err, "postgres: connect")
	}
	life, stop := context.WithCancel(context.Background())
	db := &DB{pool: pool, lookups: lookups, sets: sqlplan.NewSetCache(sqlplan.Postgres), life: life, stopLife: stop}
	db.byRef = newCoalescer(life, cfg.LookupBatch, db.lookupFetch("ref"))
	db.byUID = newCoalescer(life, cfg.LookupBatch, db.lookupFetch("uid"))
	return db, nil
}

// Engine returns "postgres".
func (db *DB) Engine() string { return "postgres" }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return fault.Wrap(fault.Unavailable, err, "postgres: ping")
	}
	return nil
}

// Close closes the pool.
func (db *DB) Close() error {
	db.stopLife()
	db.bg.Wait()
	db.lookups.Close()
	db.pool.Close()
	return nil
}

// Migrate applies the embedded migrations that have not run yet, in one
// transaction holding an advisory lock scoped to the current schema, so
// that replicas starting together apply each migration once.
func (db *DB) Migrate(ctx context.Context) error {
	files, err := migrations.ReadDir("migrations")
	if err != nil {
		return fault.Wrap(fault.Internal, err, "postgres: read migrations")
	}
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('atrium.migrations.' || current_schema()))"); err != nil {
			return dbErr(ctx, err, "lock migrations")
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return dbErr(ctx, err, "create schema_migrations")
		}
		rows, err := tx.Query(ctx, "SELECT version FROM schema_migrations")
		if err != nil {
			return dbErr(ctx, err, "read schema_migrations")
		}
		versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			return dbErr(ctx, err, "read schema_migrations")
		}
		applied := map[int]bool{}
		for _, v := range versions {
			applied[int(v)] = true
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
				return fault.Wrap(fault.Internal, err, "postgres: read migration %s", f.Name())
			}
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return dbErr(ctx, err, "apply migration "+f.Name())
			}
			if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", v, f.Name()); err != nil {
				return dbErr(ctx, err, "record migration "+f.Name())
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// A bulk load cut short leaves secondary indexes missing.
	_, err = db.ensureIndexes(ctx)
	return err
}

// dbErr wraps a database error as an internal fault, or as Unavailable when
// the context ended or the statement timed out.
func dbErr(ctx context.Context, err error, what string) error {
	var f *fault.Error
	if errors.As(err, &f) {
		return f
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "57014" {
		return fault.Wrap(fault.Unavailable, err, "postgres: %s: statement timed out or was cancelled", what)
	}
	if ctx.Err() != nil {
		return fault.Wrap(fault.Unavailable, err, "postgres: %s: %v", what, ctx.Err())
	}
	if connectionLost(err, pgErr) {
		return fault.Wrap(fault.Unavailable, err, "postgres: %s: the connection to the database was lost; try again", what)
	}
	return fault.Wrap(fault.Internal, err, "postgres: %s", what)
}

// connectionLost reports whether err means the connection went away (the
// server shut down or terminated the backend, the network broke) rather
// than a bad statement: the pool drops such a connection and the next
// request gets a fresh one, so the caller may simply try again.
func connectionLost(err error, pgErr *pgconn.PgError) bool {
	if pgErr != nil && pgErr.Code != "" {
		// Class 08: connection exception; 57P01–57P05: admin shutdown,
		// crash shutdown, cannot connect now, database dropped, idle timeout.
		return strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "57P")
	}
	var netErr net.Error
	return pgconn.SafeToRetry(err) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.As(err, &netErr) || strings.Contains(err.Error(), "conn closed")
}
