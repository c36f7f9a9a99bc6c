package app

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/metrics"
)

// readMetrics count the engine's reads of location targets: the work of
// ingestion and its read errors, and when the last read finished (a
// refresh loop that stalls stops moving it).
type readMetrics struct {
	reads    *prometheus.CounterVec
	duration *prometheus.HistogramVec
	last     atomic.Int64 // Unix nanoseconds of the last successful read
}

// observeReads wraps the engine's readers so that every read is counted,
// creating the metrics registry when it does not exist yet.
func (a *App) observeReads(ec *engine.Config) error {
	if a.metrics == nil {
		a.metrics = metrics.New()
	}
	m := &readMetrics{
		reads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "atrium_catalog_reads_total",
			Help: "Location targets read by the catalog engine, by location type and outcome (ok, error): ingestion work and read errors.",
		}, []string{"type", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "atrium_catalog_read_duration_seconds",
			Help:    "Time to read one location target, by location type.",
			Buckets: []float64{.001, .005, .025, .1, .5, 1, 5, 30},
		}, []string{"type"}),
	}
	last := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "atrium_catalog_last_read_timestamp_seconds",
		Help: "When this process last read a location target successfully (Unix time; 0 before the first). It stops moving when processing stalls.",
	}, func() float64 { return float64(m.last.Load()) / 1e9 })
	for _, c := range []prometheus.Collector{m.reads, m.duration, last} {
		if err := a.metrics.Register(c); err != nil {
			return err
		}
	}
	for typ, rd := range ec.Readers {
		r := &countingReader{Reader: rd, typ: typ, m: m}
		if g, ok := rd.(engine.Globber); ok {
			ec.Readers[typ] = &countingGlobber{countingReader: r, glob: g}
		} else {
			ec.Readers[typ] = r
		}
	}
	return nil
}

// countingReader counts the reads of one location type.
type countingReader struct {
	engine.Reader
	typ string
	m   *readMetrics
}

func (r *countingReader) Read(ctx context.Context, target string) ([]byte, error) {
	start := time.Now()
	data, err := r.Reader.Read(ctx, target)
	r.m.duration.WithLabelValues(r.typ).Observe(time.Since(start).Seconds())
	if err != nil {
		r.m.reads.WithLabelValues(r.typ, "error").Inc()
		return data, err
	}
	r.m.reads.WithLabelValues(r.typ, "ok").Inc()
	r.m.last.Store(time.Now().UnixNano())
	return data, nil
}

// countingGlobber keeps a reader's wildcard expansion.
type countingGlobber struct {
	*countingReader
	glob engine.Globber
}

func (g *countingGlobber) Glob(ctx context.Context, pattern string) ([]string, error) {
	return g.glob.Glob(ctx, pattern)
}
