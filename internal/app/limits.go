package app

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/atrium-portal/atrium/internal/config"
	"github.com/atrium-portal/atrium/internal/heavy"
	"github.com/atrium-portal/atrium/internal/metrics"
	scaffolderapi "github.com/atrium-portal/atrium/internal/scaffolder/api"
	"github.com/atrium-portal/atrium/internal/web"
	catalogapi "github.com/atrium-portal/atrium/internal/web/api"
)

// heavyRoutes are the routes that start heavy work, by kind: they run only
// with a slot of their kind (atrium.limits.heavy). Building documentation
// takes its slot inside the TechDocs service, since only a page whose site
// is missing or stale builds.
var heavyRoutes = map[string]string{
	"POST " + catalogapi.Prefix + "/refresh":             config.HeavyIngestion,
	"POST " + catalogapi.Prefix + "/locations":           config.HeavyIngestion,
	"PUT " + catalogapi.Prefix + "/locations/{id}":       config.HeavyIngestion,
	"POST /catalog-import":                               config.HeavyIngestion,
	"POST " + scaffolderapi.Prefix + "/tasks":            config.HeavyTasks,
	"POST " + scaffolderapi.Prefix + "/tasks/{id}/retry": config.HeavyTasks,
	"POST /create/templates/{namespace}/{name}":          config.HeavyTasks,
	"POST /create/tasks/{id}/retry":                      config.HeavyTasks,
	"POST " + backupsPrefix:                              config.HeavyBackup,
	"POST /settings/backups":                             config.HeavyBackup,
}

// heavyLimiter builds the limiter of heavy operations from
// atrium.limits.heavy and registers its metrics.
func (a *App) heavyLimiter() (*heavy.Limiter, error) {
	bounds := map[string]heavy.Bound{}
	for kind, h := range a.cfg.Atrium.Limits.Heavy {
		bounds[kind] = heavy.Bound{Concurrency: h.Concurrency, Queue: h.Queue, MaxWait: h.MaxWait}
	}
	l := heavy.New(bounds)
	if a.metrics != nil {
		if err := a.metrics.Register(heavyCollector{l}); err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
		if err := a.metrics.Register(a.catalogLimitCollector()); err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
	}
	return l, nil
}

// heavyMiddleware limits the heavy routes with l.
func heavyMiddleware(l *heavy.Limiter) web.Middleware {
	return web.LimitHeavy(l, heavyRoutes)
}

var (
	descHeavyRunning = prometheus.NewDesc("atrium_heavy_operations_running", "Heavy operations running, by kind (atrium.limits.heavy).", []string{"kind"}, nil)
	descHeavyWaiting = prometheus.NewDesc("atrium_heavy_operations_waiting", "Heavy operations waiting for a slot, by kind.", []string{"kind"}, nil)
	descHeavyRefused = prometheus.NewDesc("atrium_heavy_operations_refused_total", "Heavy operations refused with 503 because the queue was full or the wait too long, by kind.", []string{"kind"}, nil)
	descLimitRatio   = prometheus.NewDesc("atrium_catalog_limit_ratio", "Entities in the catalog divided by atrium.limits.maxEntities (absent without a limit); at 1 new entities are refused.", nil, nil)
)

// heavyCollector reports the limiter's gates.
type heavyCollector struct{ l *heavy.Limiter }

func (c heavyCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descHeavyRunning
	ch <- descHeavyWaiting
	ch <- descHeavyRefused
}

func (c heavyCollector) Collect(ch chan<- prometheus.Metric) {
	for kind, s := range c.l.Stats() {
		ch <- prometheus.MustNewConstMetric(descHeavyRunning, prometheus.GaugeValue, float64(s.Running), kind)
		ch <- prometheus.MustNewConstMetric(descHeavyWaiting, prometheus.GaugeValue, float64(s.Waiting), kind)
		ch <- prometheus.MustNewConstMetric(descHeavyRefused, prometheus.CounterValue, float64(s.Refused), kind)
	}
}

// catalogLimitCollector reports how full the catalog is against its global
// limit, from the entity counts, reused for atrium.metrics.refreshInterval.
func (a *App) catalogLimitCollector() prometheus.Collector {
	max := a.cfg.Atrium.Limits.MaxEntities
	return metrics.NewCached([]*prometheus.Desc{descLimitRatio}, a.cfg.Atrium.Metrics.RefreshInterval, collectTimeout, a.log,
		func(ctx context.Context) ([]prometheus.Metric, error) {
			if max <= 0 {
				return nil, nil
			}
			counts, err := a.store.EntityCount(ctx)
			if err != nil {
				return nil, err
			}
			total := 0
			for _, n := range counts {
				total += n
			}
			return []prometheus.Metric{prometheus.MustNewConstMetric(descLimitRatio, prometheus.GaugeValue, float64(total)/float64(max))}, nil
		})
}

// heavyAcquirer returns the function that takes a slot of kind.
func (a *App) heavyAcquirer(kind string) func(ctx context.Context) (func(), error) {
	return func(ctx context.Context) (func(), error) { return a.heavy.Acquire(ctx, kind) }
}
