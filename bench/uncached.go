package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/atrium-portal/atrium/bench/gen"
)

// uncachedName is the name under which the results carry by-query
// measured with the answer cache off.
const uncachedName = "by-query (uncached)"

// uncachedEndpoint is the by-query endpoint (the same requests, drawn the
// same way) under uncachedName.
func uncachedEndpoint(set *gen.Set) (endpoint, error) {
	for _, ep := range endpoints(set) {
		if ep.Name == "by-query" {
			ep.Name = uncachedName
			return ep, nil
		}
	}
	return endpoint{}, fmt.Errorf("no by-query endpoint")
}

// uncachedDB is what the uncached phase needs of a PostgreSQL database;
// both nil with SQLite.
type uncachedDB struct {
	busy     func() bool  // whether a session of the database runs a statement
	backends func() []int // the database's backend processes, for -pin
}

// runUncachedPhase measures what an answer cache miss costs by-query: it
// stops the server, starts the same binary on the same database with the
// answer cache off (atrium.cache.answers: 0; the entity cache as before),
// waits until that server has loaded the catalog and is idle, and runs
// by-query's load again as uncachedName. The measured by-query asks each
// of the ~3,000 teams' first pages several times within the answer
// cache's 5 s, so most of its answers are hits; here every request reads
// its page from the database, as a team's page asked less often than
// every 5 s is. With prof, the restarted server's start goes to
// uncached-start.cpu.pprof and the load to uncached.cpu.pprof. It returns
// the restarted server, which the caller stops.
func runUncachedPhase(ctx context.Context, o options, set *gen.Set, sp serverParams, srv *server, db uncachedDB, prof *profiler, pin *cpuSplit, res *Result) (*server, *client, error) {
	ep, err := uncachedEndpoint(set)
	if err != nil {
		return nil, nil, err
	}
	srv.Stop()
	sp.NoAnswerCache = true
	sp.Name = "uncached"
	if prof != nil {
		sp.Env = prof.env("uncached-start.cpu.pprof")
	}
	srv2, err := startServer(ctx, sp)
	if err != nil {
		return nil, nil, fmt.Errorf("uncached: %w", err)
	}
	log.Printf("uncached: server restarted on the same database with atrium.cache.answers: 0 (pid %d), log in %s", srv2.PID(), srv2.LogPath)
	c := newClient(srv2.BaseURL, o.Clients, o.ReqTimeout)
	if err := waitReady(ctx, c, srv2, o.IngestTimeout); err != nil {
		return srv2, c, fmt.Errorf("uncached: %w\n%s", err, srv2.LogTail(40))
	}
	ready := time.Since(srv2.Started)
	idle := waitIdle(srv2.PID(), 5*time.Minute, db.busy)
	log.Printf("uncached: ready after %.1fs, idle %.1fs later", ready.Seconds(), idle.Seconds())
	if prof != nil {
		if err := prof.stopCPU(ctx); err != nil {
			return srv2, c, err
		}
		if err := prof.startCPU(ctx, "uncached.cpu.pprof"); err != nil {
			return srv2, c, err
		}
	}
	log.Printf("load: %s, %d clients, %v", ep.Name, o.Clients, o.Duration)
	st, err := runLoad(ctx, loadParams{
		Client: c, Endpoint: ep, Clients: o.Clients, Duration: o.Duration, Warmup: o.Warmup, Seed: o.Seed,
		ServerCPU: func() (float64, error) { return procCPUSeconds(srv2.PID()) },
		ServerPID: srv2.PID(), ServerLog: srv2.LogPath,
		Rate: o.Rate, Pin: pin, PinAlso: db.backends,
	})
	if err != nil {
		return srv2, c, err
	}
	if prof != nil {
		if err := prof.stopCPU(ctx); err != nil {
			return srv2, c, err
		}
	}
	log.Printf("  p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, %.0f req/s, %d errors, server CPU %.0f µs per request, client CPU %.0f µs", st.P50ms, st.P90ms, st.P99ms, st.RPS, st.Errors, st.ServerCPUus, st.ClientCPUus)
	log.Printf("  inside the server p50 %.3f ms, p90 %.3f ms, p99 %.3f ms; %s; load %s", st.ServerP50ms, st.ServerP90ms, st.ServerP99ms, st.ctxLine(), st.LoadAvg)
	res.Endpoints = append(res.Endpoints, st)
	return srv2, c, nil
}

// waitReady polls the server's readiness (200 once it has loaded the
// configured locations once) until it answers 200, the server exits or
// timeout passes.
func waitReady(ctx context.Context, c *client, srv *server, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		code, _, err := c.get(ctx, "/readyz")
		if err == nil && code == http.StatusOK {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		select {
		case <-srv.Exited:
			return fmt.Errorf("server exited before it was ready")
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server not ready after %v (last: %d, %v)", timeout, code, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
