// Package metrics holds Atrium's Prometheus registry: the series every
// process exports (HTTP latency by route, rate-limit rejections, Go and
// process statistics) and the collectors that internal/app adds for the
// catalog, the database pool, the job queue and backups. It is built once
// in internal/app and passed to whatever needs it; there is no global
// registry.
//
// Another package exports its own series by being handed the *Registry at
// wiring time and registering a collector:
//
//	func (h *Health) Collectors() []prometheus.Collector { … }
//
//	// in internal/app:
//	for _, c := range pluginHealth.Collectors() {
//		if err := a.metrics.Register(c); err != nil { … }
//	}
//
// Name series atrium_<area>_<what>[_unit][_total], keep label values
// bounded (a route pattern, a kind, a plugin name; never a raw path or an
// entity ref), and for values read from the database use NewCached so that
// a scrape costs at most one query per refresh interval.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Registry is the process's metrics registry.
type Registry struct {
	reg         *prometheus.Registry
	requests    *prometheus.HistogramVec
	rateLimited *prometheus.CounterVec
	// observers remembers requests' histogram per label values
	// (requestKey → prometheus.Observer): WithLabelValues formatted the
	// status and hashed the three values byte by byte on every request.
	// Bounded as the series are: routes are patterns, methods normalised.
	observers sync.Map
}

type requestKey struct {
	route, method string
	status        int
}

// New returns a registry holding the Go runtime, process and HTTP series.
func New() *Registry {
	r := &Registry{reg: prometheus.NewRegistry()}
	r.requests = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "atrium_http_request_duration_seconds",
		Help:    "Time to answer an HTTP request, by route pattern, method and status code.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"route", "method", "code"})
	r.rateLimited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "atrium_http_rate_limited_total",
		Help: "Requests refused with 429 Too Many Requests, by route pattern.",
	}, []string{"route"})
	r.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		r.requests, r.rateLimited,
	)
	return r
}

// Register adds a collector; it fails when its series clash with
// registered ones.
func (r *Registry) Register(c prometheus.Collector) error { return r.reg.Register(c) }

// Gatherer returns the registry for tests and exporters.
func (r *Registry) Gatherer() prometheus.Gatherer { return r.reg }

// Handler serves the registry in the Prometheus text format.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError, MaxRequestsInFlight: 4})
}

// ObserveRequest records one answered request (web.RequestObserver).
func (r *Registry) ObserveRequest(route, method string, status int, d time.Duration) {
	k := requestKey{route, normalMethod(method), status}
	o, ok := r.observers.Load(k)
	if !ok {
		o, _ = r.observers.LoadOrStore(k, r.requests.WithLabelValues(k.route, k.method, strconv.Itoa(status)))
	}
	o.(prometheus.Observer).Observe(d.Seconds())
	if status == http.StatusTooManyRequests {
		r.rateLimited.WithLabelValues(route).Inc()
	}
}

// normalMethod bounds the method label: clients may send any token.
func normalMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}

// Cached is a collector whose values come from a function (usually
// database queries) called at most once per TTL; scrapes in between get
// the remembered values. When the function fails, the last good values
// are kept and the failure is logged.
type Cached struct {
	descs   []*prometheus.Desc
	ttl     time.Duration
	timeout time.Duration
	fn      func(ctx context.Context) ([]prometheus.Metric, error)
	log     *slog.Logger

	mu   sync.Mutex
	at   time.Time
	last []prometheus.Metric
}

// NewCached returns a collector of the series described by descs whose
// values fn computes. A scrape waits at most timeout for fn.
func NewCached(descs []*prometheus.Desc, ttl, timeout time.Duration, log *slog.Logger, fn func(ctx context.Context) ([]prometheus.Metric, error)) *Cached {
	if log == nil {
		log = slog.Default()
	}
	return &Cached{descs: descs, ttl: ttl, timeout: timeout, fn: fn, log: log}
}

// Describe sends the series descriptions.
func (c *Cached) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

// Collect sends the values, refreshing them when older than the TTL.
func (c *Cached) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last == nil || time.Since(c.at) >= c.ttl {
		ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
		ms, err := c.fn(ctx)
		cancel()
		if err != nil {
			c.log.Warn("metrics: collecting", "error", err.Error())
		} else {
			c.last, c.at = ms, time.Now()
		}
	}
	for _, m := range c.last {
		ch <- m
	}
}
