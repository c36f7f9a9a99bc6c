package app

import (
	"context"
	"net/http"
	"time"

	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/tracing"
	"github.com/atrium-portal/atrium/internal/web"
)

// startTracing starts the OTLP exporter when atrium.tracing names an
// endpoint; otherwise nothing is traced and nothing is wrapped.
func (a *App) startTracing(ctx context.Context) error {
	tc := a.cfg.Atrium.Tracing
	if tc.Endpoint == "" {
		return nil
	}
	p, err := tracing.Start(ctx, tracing.Config{
		Endpoint: tc.Endpoint, Protocol: tc.Protocol, Insecure: tc.Insecure,
		SampleRatio: tc.SampleRatio, Headers: tc.Headers, ServiceName: tc.ServiceName, Version: a.version,
	})
	if err != nil {
		return err
	}
	a.tracer = p
	a.cleanup = append(a.cleanup, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := p.Shutdown(ctx); err != nil {
			a.log.Warn("tracing: spans not exported at shutdown", "error", err.Error())
		}
		return nil
	})
	a.log.Info("tracing", "endpoint", tc.Endpoint, "protocol", tc.Protocol, "sampleRatio", tc.SampleRatio)
	return nil
}

// traceStore has the engine's store calls traced.
func (a *App) traceStore(ec *engine.Config) {
	if a.tracer != nil {
		ec.Store = a.tracer.WrapStore(ec.Store)
	}
}

// traceRequests is the server's request tracing (nil: none).
func (a *App) traceRequests() func(route func(*http.Request) string) web.Middleware {
	if a.tracer == nil {
		return nil
	}
	return a.tracer.Middleware
}

// FlushTraces exports the finished spans now (for tests and shutdown).
func (a *App) FlushTraces(ctx context.Context) error {
	if a.tracer == nil {
		return nil
	}
	return a.tracer.Flush(ctx)
}
