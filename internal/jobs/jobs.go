// Package jobs runs the process's one River client, which works every
// queue Atrium keeps in the store's database: the scaffolder's task runs
// and the backups. One client rather than one per queue: each River client
// runs its own batch completer (an unconditional 50 ms ticker), leader
// elector and maintenance services, and two clients' completers were 61 %
// of an idle server's wake-ups.
package jobs

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/riverlocal"
)

// Queue is one queue on the client and the workers of its job kinds.
type Queue struct {
	// Name is the River queue the kinds' InsertOpts name.
	Name string
	// MaxWorkers is how many of the queue's jobs this process works at
	// once; 0 works none (the process only inserts them: an API replica).
	MaxWorkers int
	// FetchPollInterval, when not zero, is how often the queue looks for
	// jobs on PostgreSQL (on SQLite every queue polls at the client's
	// interval: River fetches after each insert there, see riverlocal).
	// FetchCooldown, when not zero, is the least time between fetches.
	FetchPollInterval time.Duration
	FetchCooldown     time.Duration
	// Register adds the workers of the queue's job kinds; every kind is
	// registered, even where the queue is not worked, so that inserting
	// an unknown kind fails.
	Register func(*river.Workers)
}

// Inserter queues jobs; the services hold the client as one.
type Inserter interface {
	Insert(ctx context.Context, args river.JobArgs) error
}

// Params configure the client.
type Params struct {
	Logger *slog.Logger
	// FetchPollInterval is how often the queues that set none look for
	// jobs: River's default on PostgreSQL, riverlocal.PollInterval on
	// SQLite when zero.
	FetchPollInterval time.Duration
}

// Client is River in the store's database, shared by the queues.
type Client[TTx any] struct {
	river *river.Client[TTx]
	works bool
}

// NewSQLite runs River on the SQLite store's write connection, poll-only
// (riverlocal), after migrating River's tables.
func NewSQLite(ctx context.Context, db *sql.DB, p Params, queues ...Queue) (*Client[*sql.Tx], error) {
	p.FetchPollInterval = cmp.Or(p.FetchPollInterval, riverlocal.PollInterval)
	for i := range queues {
		queues[i].FetchPollInterval = 0
	}
	return newClient(ctx, riverlocal.SQLite(db), p, queues)
}

// NewPostgres runs River on the PostgreSQL store's pool, after migrating
// River's tables.
func NewPostgres(ctx context.Context, pool *pgxpool.Pool, p Params, queues ...Queue) (*Client[pgx.Tx], error) {
	return newClient(ctx, riverpgxv5.New(pool), p, queues)
}

func newClient[TTx any](ctx context.Context, driver riverdriver.Driver[TTx], p Params, queues []Queue) (*Client[TTx], error) {
	log := quiet(p.Logger)
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: log})
	if err != nil {
		return nil, fault.Wrap(fault.Internal, err, "river: migrator")
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return nil, fault.Wrap(fault.Internal, err, "river: migrate")
	}
	cfg := &river.Config{Logger: log, FetchPollInterval: p.FetchPollInterval}
	workers := river.NewWorkers()
	for _, q := range queues {
		q.Register(workers)
		if q.MaxWorkers <= 0 {
			continue
		}
		if cfg.Queues == nil {
			cfg.Queues = map[string]river.QueueConfig{}
		}
		cfg.Queues[q.Name] = river.QueueConfig{MaxWorkers: q.MaxWorkers, FetchPollInterval: q.FetchPollInterval, FetchCooldown: q.FetchCooldown}
	}
	if len(queues) > 0 {
		cfg.Workers = workers
	}
	client, err := river.NewClient(driver, cfg)
	if err != nil {
		return nil, fault.Wrap(fault.Internal, err, "river: client")
	}
	return &Client[TTx]{river: client, works: cfg.Queues != nil}, nil
}

// Insert queues a job on the queue its kind's InsertOpts name.
func (c *Client[TTx]) Insert(ctx context.Context, args river.JobArgs) error {
	_, err := c.river.Insert(ctx, args, nil)
	return err
}

// Run works the queues until ctx ends, then stops River, cancelling the
// running jobs' contexts (a task stops at its next safe point and resumes
// on the next start; a backup is retried). A client that works no queue
// only inserts: Run just waits.
func (c *Client[TTx]) Run(ctx context.Context) error {
	if !c.works {
		<-ctx.Done()
		return nil
	}
	if err := c.river.Start(ctx); err != nil {
		return fmt.Errorf("river: start: %w", err)
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.river.StopAndCancel(sctx); err != nil && sctx.Err() == nil {
		return fmt.Errorf("river: stop: %w", err)
	}
	return nil
}

// quiet keeps River's informational lines out of Atrium's log.
func quiet(l *slog.Logger) *slog.Logger {
	if l == nil {
		l = slog.Default()
	}
	return slog.New(levelFilter{l.Handler(), slog.LevelWarn})
}

type levelFilter struct {
	slog.Handler
	min slog.Level
}

func (f levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.min && f.Handler.Enabled(ctx, l)
}
