package app

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/atrium-portal/atrium/internal/auth"
	"github.com/atrium-portal/atrium/internal/authz"
	"github.com/atrium-portal/atrium/internal/config"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/metrics"
	"github.com/atrium-portal/atrium/internal/web"
)

// operationsPermission guards /metrics on the main server and the
// operations page.
const operationsPermission = "atrium.admin.operations.read"

// Metrics returns the process's metrics registry, for packages that
// register their own collectors at wiring time.
func (a *App) Metrics() *metrics.Registry { return a.metrics }

// observe builds the metrics registry with Atrium's collectors and returns
// the routes serving /metrics on the main server (none when
// atrium.metrics.listen names a separate address, which it then serves).
func (a *App) observe() (func(web.Mux), error) {
	// observeReads may have made the registry already.
	if a.metrics == nil {
		a.metrics = metrics.New()
	}
	reg := a.metrics
	mc := a.cfg.Atrium.Metrics
	q, err := a.metricsQuerier()
	if err != nil {
		return nil, err
	}
	cs := []prometheus.Collector{
		buildInfo(a.version),
		a.catalogCollector(q, mc.RefreshInterval),
		a.jobsCollector(q, mc.RefreshInterval),
		a.backupCollector(mc.RefreshInterval),
		&poolCollector{store: a.store},
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "atrium_catalog_files_parsed_total", Help: "Location targets read and parsed since the process started."},
			func() float64 { return float64(a.engine.Stats().FilesParsed) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "atrium_catalog_files_reused_total", Help: "Location targets read but unchanged, whose remembered results were reused."},
			func() float64 { return float64(a.engine.Stats().FilesReused) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "atrium_catalog_processing_passes_total", Help: "Processing passes over the static and registered locations (first ingest and periodic refreshes) run by this replica."},
			func() float64 { return float64(a.engine.Stats().Passes) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "atrium_catalog_processing_pass_errors_total", Help: "Processing passes that reported an error."},
			func() float64 { return float64(a.engine.Stats().PassErrors) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "atrium_catalog_processing_last_pass_seconds", Help: "Duration of the last finished processing pass."},
			func() float64 { return a.engine.Stats().LastPass.Seconds() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "atrium_catalog_processing_last_pass_timestamp_seconds", Help: "When the last processing pass finished (Unix time; 0 before the first or on replicas that do not lead processing). Processing delay: time() minus this, against catalog.processingInterval."},
			func() float64 {
				if end := a.engine.Stats().LastPassEnd; !end.IsZero() {
					return float64(end.UnixNano()) / 1e9
				}
				return 0
			}),
	}
	cs = append(cs, breakerCollector{})
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
	}
	if err := a.countChanges(reg); err != nil {
		return nil, err
	}
	if mc.Listen != "" {
		if err := a.serveMetrics(mc.Listen); err != nil {
			return nil, err
		}
		return func(web.Mux) {}, nil
	}
	h := reg.Handler()
	return func(mux web.Mux) {
		mux.Handle("GET /metrics", a.requirePermission(operationsPermission, h))
	}, nil
}

// requirePermission answers 403 unless the policy allows perm.
func (a *App) requirePermission(perm string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := a.allowed(r, perm); err != nil {
			web.WriteError(w, r, err)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// allowed fails with fault.Forbidden unless the policy allows perm.
func (a *App) allowed(r *http.Request, perm string) error {
	d, err := a.authz.Authorize(r.Context(), auth.PrincipalFrom(r.Context()), perm, nil)
	if err != nil {
		return err
	}
	if d.Result != authz.Allow {
		return fault.New(fault.Forbidden, "not allowed: %s (%s)", perm, d.Reason)
	}
	return nil
}

// serveMetrics serves /metrics alone, without authentication, on addr
// (atrium.metrics.listen): bind it to an address only the scraper reaches.
func (a *App) serveMetrics(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s (atrium.metrics.listen): %w", addr, err)
	}
	a.metricsAddr = ln.Addr()
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.metrics.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	a.cleanup = append(a.cleanup, func() error {
		_ = srv.Close()
		return nil
	})
	a.background = append(a.background, func(ctx context.Context) error {
		go func() {
			<-ctx.Done()
			_ = srv.Close()
		}()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("metrics server: %w", err)
		}
		return nil
	})
	return nil
}

// MetricsAddr is the address of the separate metrics listener (nil when
// /metrics is served by the main server).
func (a *App) MetricsAddr() net.Addr { return a.metricsAddr }

// countChanges counts the entities the engine writes and deletes, from its
// change events (atrium_catalog_changes_total): the processing throughput.
func (a *App) countChanges(reg *metrics.Registry) error {
	changes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "atrium_catalog_changes_total",
		Help: "Entities written (upsert) or deleted (delete) by this process's catalog engine; overflow counts events a slow consumer missed.",
	}, []string{"change"})
	if err := reg.Register(changes); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	for _, c := range []string{"upsert", "delete", "overflow"} {
		changes.WithLabelValues(c)
	}
	events, stop := a.engine.Subscribe(256)
	a.cleanup = append(a.cleanup, func() error {
		stop()
		return nil
	})
	a.background = append(a.background, func(ctx context.Context) error {
		for {
			select {
			case <-ctx.Done():
				return nil
			case ev, ok := <-events:
				if !ok {
					return nil
				}
				if ev.Overflow {
					changes.WithLabelValues("overflow").Inc()
				}
				changes.WithLabelValues(string(ev.Kind)).Add(float64(len(ev.Refs)))
			}
		}
	})
	return nil
}

func buildInfo(version string) prometheus.Collector {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "atrium_build_info", Help: "Always 1; the labels name the running build."}, []string{"version", "goversion"})
	g.WithLabelValues(version, runtime.Version()).Set(1)
	return g
}

// querier runs a read-only query on the store's database.
type querier func(ctx context.Context, query string, scan func(scan func(dest ...any) error) error) error

// metricsQuerier returns a querier on a separate read-only connection for
// SQLite (the store's write connection is kept for writes), or on the
// PostgreSQL pool.
func (a *App) metricsQuerier() (querier, error) {
	switch db := a.store.(type) {
	case interface{ JobsPool() *pgxpool.Pool }:
		pool := db.JobsPool()
		return func(ctx context.Context, query string, scan func(func(...any) error) error) error {
			rows, err := pool.Query(ctx, query)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				if err := scan(rows.Scan); err != nil {
					return err
				}
			}
			return rows.Err()
		}, nil
	case interface{ JobsDB() *sql.DB }:
		sdb := db.JobsDB()
		if path := a.cfg.Backend.Database.Path; path != ":memory:" && a.cfg.Backend.Database.Engine == config.EngineSQLite {
			ro, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)&_pragma=query_only(1)")
			if err != nil {
				return nil, fmt.Errorf("metrics: %w", err)
			}
			ro.SetMaxOpenConns(1)
			a.cleanup = append(a.cleanup, ro.Close)
			sdb = ro
		}
		return func(ctx context.Context, query string, scan func(func(...any) error) error) error {
			rows, err := sdb.QueryContext(ctx, query)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				if err := scan(rows.Scan); err != nil {
					return err
				}
			}
			return rows.Err()
		}, nil
	}
	return nil, fmt.Errorf("metrics: the %s store offers no SQL access", a.store.Engine())
}

var (
	descEntities       = prometheus.NewDesc("atrium_catalog_entities", "Entities in the catalog, by kind.", []string{"kind"}, nil)
	descRelations      = prometheus.NewDesc("atrium_catalog_relations", "Relation rows in the catalog.", nil, nil)
	descEntityErrors   = prometheus.NewDesc("atrium_catalog_entities_with_errors", "Entities whose last processing reported errors (ingestion errors).", nil, nil)
	descLocations      = prometheus.NewDesc("atrium_catalog_locations", "Registered locations.", nil, nil)
	descJobs           = prometheus.NewDesc("atrium_jobs", "Jobs in River's queue, by queue and state (job queue depth).", []string{"queue", "state"}, nil)
	descJobWait        = prometheus.NewDesc("atrium_jobs_oldest_available_age_seconds", "How long the oldest available job of a queue has waited to run (job queue latency).", []string{"queue"}, nil)
	descJobWaitAvg     = prometheus.NewDesc("atrium_jobs_recent_wait_seconds_avg", "Average time from scheduled to started of the jobs completed in the last hour.", []string{"queue"}, nil)
	descJobRunAvg      = prometheus.NewDesc("atrium_jobs_recent_run_seconds_avg", "Average run time of the jobs completed in the last hour.", []string{"queue"}, nil)
	descBackupOK       = prometheus.NewDesc("atrium_backup_last_success_timestamp_seconds", "When the last successful backup finished (Unix time); 0 before the first.", nil, nil)
	descBackupFailed   = prometheus.NewDesc("atrium_backup_last_failure_timestamp_seconds", "When the last failed backup finished (Unix time); 0 when none failed.", nil, nil)
	descBackupSize     = prometheus.NewDesc("atrium_backup_last_size_bytes", "Size of the last successful backup archive.", nil, nil)
	descDBConns        = prometheus.NewDesc("atrium_db_connections", "Database connections of this process, by pool and state (in_use, idle).", []string{"pool", "state"}, nil)
	descDBMax          = prometheus.NewDesc("atrium_db_connections_max", "The most connections a pool opens.", []string{"pool"}, nil)
	descDBWaits        = prometheus.NewDesc("atrium_db_waits_total", "Times a query waited for a free connection.", []string{"pool"}, nil)
	descDBWaitDuration = prometheus.NewDesc("atrium_db_wait_seconds_total", "Time spent waiting for a free connection.", []string{"pool"}, nil)
)

const collectTimeout = 5 * time.Second

func (a *App) catalogCollector(q querier, ttl time.Duration) prometheus.Collector {
	return metrics.NewCached([]*prometheus.Desc{descEntities, descRelations, descEntityErrors, descLocations}, ttl, collectTimeout, a.log,
		func(ctx context.Context) ([]prometheus.Metric, error) {
			counts, err := a.store.EntityCount(ctx)
			if err != nil {
				return nil, err
			}
			var out []prometheus.Metric
			for kind, n := range counts {
				out = append(out, prometheus.MustNewConstMetric(descEntities, prometheus.GaugeValue, float64(n), kind))
			}
			for _, c := range []struct {
				desc  *prometheus.Desc
				query string
			}{
				{descRelations, "SELECT count(*) FROM relations"},
				{descEntityErrors, "SELECT count(*) FROM entities WHERE errors IS NOT NULL AND errors <> ''"},
				{descLocations, "SELECT count(*) FROM locations"},
			} {
				var n int64
				if err := q(ctx, c.query, func(scan func(...any) error) error { return scan(&n) }); err != nil {
					return nil, err
				}
				out = append(out, prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n)))
			}
			return out, nil
		})
}

func (a *App) jobsCollector(q querier, ttl time.Duration) prometheus.Collector {
	age := "(julianday('now') - julianday(min(scheduled_at))) * 86400.0"
	recent := `SELECT queue, avg((julianday(attempted_at) - julianday(scheduled_at)) * 86400.0),
		avg((julianday(finalized_at) - julianday(attempted_at)) * 86400.0)
		FROM river_job WHERE state = 'completed' AND julianday(finalized_at) > julianday('now', '-1 hour') GROUP BY queue`
	if a.store.Engine() == "postgres" {
		age = "extract(epoch FROM now() - min(scheduled_at))::float8"
		recent = `SELECT queue, extract(epoch FROM avg(attempted_at - scheduled_at))::float8,
			extract(epoch FROM avg(finalized_at - attempted_at))::float8
			FROM river_job WHERE state = 'completed' AND finalized_at > now() - interval '1 hour' GROUP BY queue`
	}
	return metrics.NewCached([]*prometheus.Desc{descJobs, descJobWait, descJobWaitAvg, descJobRunAvg}, ttl, collectTimeout, a.log,
		func(ctx context.Context) ([]prometheus.Metric, error) {
			var out []prometheus.Metric
			err := q(ctx, "SELECT queue, state, count(*) FROM river_job GROUP BY queue, state", func(scan func(...any) error) error {
				var queue, state string
				var n int64
				if err := scan(&queue, &state, &n); err != nil {
					return err
				}
				out = append(out, prometheus.MustNewConstMetric(descJobs, prometheus.GaugeValue, float64(n), queue, state))
				return nil
			})
			if err != nil {
				return nil, err
			}
			err = q(ctx, "SELECT queue, "+age+" FROM river_job WHERE state = 'available' GROUP BY queue", func(scan func(...any) error) error {
				var queue string
				var secs float64
				if err := scan(&queue, &secs); err != nil {
					return err
				}
				out = append(out, prometheus.MustNewConstMetric(descJobWait, prometheus.GaugeValue, max(secs, 0), queue))
				return nil
			})
			if err != nil {
				return nil, err
			}
			err = q(ctx, recent, func(scan func(...any) error) error {
				var queue string
				var wait, run float64
				if err := scan(&queue, &wait, &run); err != nil {
					return err
				}
				out = append(out, prometheus.MustNewConstMetric(descJobWaitAvg, prometheus.GaugeValue, max(wait, 0), queue),
					prometheus.MustNewConstMetric(descJobRunAvg, prometheus.GaugeValue, max(run, 0), queue))
				return nil
			})
			return out, err
		})
}

func (a *App) backupCollector(ttl time.Duration) prometheus.Collector {
	return metrics.NewCached([]*prometheus.Desc{descBackupOK, descBackupFailed, descBackupSize}, ttl, collectTimeout, a.log,
		func(ctx context.Context) ([]prometheus.Metric, error) {
			st, err := a.BackupStatus(ctx)
			if err != nil {
				return nil, err
			}
			var ok, failed, size float64
			if r := st.LastSuccess; r != nil {
				ok, size = float64(r.Finished.UnixMilli())/1000, float64(r.Size)
			}
			if r := st.LastFailure; r != nil {
				failed = float64(r.Finished.UnixMilli()) / 1000
			}
			return []prometheus.Metric{
				prometheus.MustNewConstMetric(descBackupOK, prometheus.GaugeValue, ok),
				prometheus.MustNewConstMetric(descBackupFailed, prometheus.GaugeValue, failed),
				prometheus.MustNewConstMetric(descBackupSize, prometheus.GaugeValue, size),
			}, nil
		})
}

// poolCollector reports the store's connection pool: sql.DB statistics of
// SQLite's write connection, pgxpool's of PostgreSQL's pool.
type poolCollector struct{ store any }

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descDBConns, descDBMax, descDBWaits, descDBWaitDuration} {
		ch <- d
	}
}

// pgxPoolMetrics reports the state of a PostgreSQL pool under the label
// name through g.
func pgxPoolMetrics(g func(*prometheus.Desc, prometheus.ValueType, float64, ...string), name string, p *pgxpool.Pool) {
	s := p.Stat()
	g(descDBConns, prometheus.GaugeValue, float64(s.AcquiredConns()), name, "in_use")
	g(descDBConns, prometheus.GaugeValue, float64(s.IdleConns()), name, "idle")
	g(descDBMax, prometheus.GaugeValue, float64(s.MaxConns()), name)
	g(descDBWaits, prometheus.CounterValue, float64(s.EmptyAcquireCount()), name)
	g(descDBWaitDuration, prometheus.CounterValue, s.EmptyAcquireWaitTime().Seconds(), name)
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	g := func(d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, t, v, labels...)
	}
	switch db := c.store.(type) {
	case interface{ JobsPool() *pgxpool.Pool }:
		pgxPoolMetrics(g, "postgres", db.JobsPool())
		if lp, ok := db.(interface{ LookupPool() *pgxpool.Pool }); ok {
			pgxPoolMetrics(g, "postgres_lookup", lp.LookupPool())
		}
	case interface{ JobsDB() *sql.DB }:
		s := db.JobsDB().Stats()
		g(descDBConns, prometheus.GaugeValue, float64(s.InUse), "sqlite_write", "in_use")
		g(descDBConns, prometheus.GaugeValue, float64(s.Idle), "sqlite_write", "idle")
		g(descDBMax, prometheus.GaugeValue, float64(s.MaxOpenConnections), "sqlite_write")
		g(descDBWaits, prometheus.CounterValue, float64(s.WaitCount), "sqlite_write")
		g(descDBWaitDuration, prometheus.CounterValue, s.WaitDuration.Seconds(), "sqlite_write")
	}
}
