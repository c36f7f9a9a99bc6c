package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/atrium-portal/atrium/bench/gen"
)

// endpoint is one measured request shape; path returns the next request's
// path, drawn from rng.
type endpoint struct {
	Name string
	Path func(rng *rand.Rand) string
}

// endpoints returns the three measured endpoints for a generated set:
// by-name of random existing entities, by-query of one random team's
// components (limit 100), and facets over the whole catalog.
func endpoints(set *gen.Set) []endpoint {
	type nameParts struct{ kind, name string }
	names := make([]nameParts, len(set.Entities))
	for i, e := range set.Entities {
		names[i] = nameParts{strings.ToLower(e.Kind), e.Name}
	}
	teams := set.Teams()
	return []endpoint{
		{Name: "by-name", Path: func(rng *rand.Rand) string {
			n := names[rng.IntN(len(names))]
			return byNamePath(n.kind, "default", n.name)
		}},
		{Name: "by-query", Path: func(rng *rand.Rand) string {
			f := "kind=component,relations.ownedby=" + teams[rng.IntN(len(teams))]
			return "/api/catalog/entities/by-query?limit=100&filter=" + url.QueryEscape(f)
		}},
		{Name: "facets", Path: func(*rand.Rand) string {
			return "/api/catalog/entity-facets?facet=kind&facet=spec.type&facet=metadata.tags"
		}},
	}
}

// Stats are the measurements of one endpoint.
type Stats struct {
	Name     string  `json:"name"`
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	P50ms    float64 `json:"p50ms"`
	P90ms    float64 `json:"p90ms"`
	P99ms    float64 `json:"p99ms"`
	MaxMs    float64 `json:"maxMs"`
	RPS      float64 `json:"rps"`
	// ServerCPUus is the server's CPU time (user and system) per answered
	// request during the measurement, in microseconds: unlike latency it
	// hardly depends on other load on the machine, so it compares builds
	// measured at different times. 0 when unknown.
	ServerCPUus float64 `json:"serverCpuUsPerReq,omitempty"`
	// ClientCPUus is the load generator's own CPU time per request (this
	// process, user and system): it shares the cores with the server, so
	// what it spends the server cannot.
	ClientCPUus float64 `json:"clientCpuUsPerReq,omitempty"`
	// ServerP50ms, ServerP90ms and ServerP99ms are percentiles of the time
	// each request spent inside the server's handlers (the "ms" of its
	// access log lines written during the measurement): what the client
	// waits beyond that is the network stack, net/http's connection
	// handling and, mostly, waiting for a core. 0 when the log is unknown.
	ServerP50ms float64 `json:"serverP50ms,omitempty"`
	ServerP90ms float64 `json:"serverP90ms,omitempty"`
	ServerP99ms float64 `json:"serverP99ms,omitempty"`
	// ServerCtxPerReq and ClientCtxPerReq are the context switches of the
	// server's and of the load generator's threads per request during the
	// measurement (see ctxSwitches): involuntary ones are the kernel
	// taking a core from a thread that could have run on.
	ServerCtxPerReq *CtxPerReq `json:"serverCtxPerReq,omitempty"`
	ClientCtxPerReq *CtxPerReq `json:"clientCtxPerReq,omitempty"`
	// LoadAvg is /proc/loadavg at the end of the measurement: other work
	// on the machine lengthens the tail above all.
	LoadAvg string `json:"loadAvg,omitempty"`
	// TargetRPS is the paced request rate of -rate (0: each client sends
	// its next request as soon as the last one is answered).
	TargetRPS float64 `json:"targetRps,omitempty"`
	// Pinned describes the CPU split of -pin, empty when the server and
	// the load generator shared every core.
	Pinned string `json:"pinned,omitempty"`
	// FirstError is the first failure seen, if any.
	FirstError string `json:"firstError,omitempty"`
}

// CtxPerReq are context switches per request.
type CtxPerReq struct {
	Voluntary   float64 `json:"voluntary"`
	Involuntary float64 `json:"involuntary"`
}

// ctxPerReq returns the switches between a and b per request; nil when
// either is unknown or there were no requests.
func ctxPerReq(a, b ctxSwitches, errA, errB error, requests int) *CtxPerReq {
	if errA != nil || errB != nil || requests <= 0 {
		return nil
	}
	n := float64(requests)
	return &CtxPerReq{
		Voluntary:   float64(b.Voluntary-a.Voluntary) / n,
		Involuntary: float64(b.Involuntary-a.Involuntary) / n,
	}
}

type loadParams struct {
	Client   *client
	Endpoint endpoint
	Clients  int
	Duration time.Duration
	Warmup   time.Duration
	Seed     int64
	// ServerCPU, when set, returns the server process's CPU seconds so far.
	ServerCPU func() (float64, error)
	// ServerPID, when not 0, is the server's process, whose context
	// switches are counted.
	ServerPID int
	// ServerLog, when set, is the server's log, whose access log lines of
	// the measurement give the time spent inside the server.
	ServerLog string
	// Rate, when above 0, paces the clients to this many requests per
	// second in all (see loop).
	Rate float64
	// Pin, when set, is the CPU split of -pin, applied for the warm-up and
	// the measurement to ServerPID, the processes PinAlso returns and the
	// load generator.
	Pin     *cpuSplit
	PinAlso func() []int
}

// runLoad runs p.Clients loops against the endpoint, each sending one
// request after the other, first for the warm-up (not recorded), then for
// the measured duration. Latency covers the whole response body. A request
// that fails or answers other than 200 counts as an error and is not in the
// latency figures.
func runLoad(ctx context.Context, p loadParams) (Stats, error) {
	if p.Clients < 1 || p.Duration <= 0 {
		return Stats{}, fmt.Errorf("load: need at least one client and a positive duration")
	}
	if p.Pin != nil {
		pids := []int{p.ServerPID}
		if p.PinAlso != nil {
			pids = append(pids, p.PinAlso()...)
		}
		unpin, err := p.Pin.pin(pids, 2*time.Second)
		if err != nil {
			return Stats{}, err
		}
		defer unpin()
	}
	if p.Warmup > 0 {
		loop(ctx, p, time.Now().Add(p.Warmup), 1000)
	}
	log0 := logSize(p.ServerLog)
	srvCS0, srvCSErr := serverCtxSwitches(p)
	selfCS0, selfCSErr := procCtxSwitches(os.Getpid())
	cpu0, cpuErr := serverCPU(p)
	self0, selfErr := procCPUSeconds(os.Getpid())
	start := time.Now()
	results := loop(ctx, p, start.Add(p.Duration), 0)
	elapsed := time.Since(start)
	cpu1, cpuErr1 := serverCPU(p)
	self1, selfErr1 := procCPUSeconds(os.Getpid())
	srvCS1, srvCSErr1 := serverCtxSwitches(p)
	selfCS1, selfCSErr1 := procCtxSwitches(os.Getpid())
	log1 := logSize(p.ServerLog)
	if err := ctx.Err(); err != nil {
		return Stats{}, err
	}
	var lat []time.Duration
	st := Stats{Name: p.Endpoint.Name, TargetRPS: p.Rate}
	if p.Pin != nil {
		st.Pinned = p.Pin.String()
	}
	for _, r := range results {
		lat = append(lat, r.lat...)
		st.Errors += r.errors
		if st.FirstError == "" {
			st.FirstError = r.firstErr
		}
	}
	st.Requests = len(lat) + st.Errors
	st.RPS = float64(len(lat)) / elapsed.Seconds()
	if cpuErr == nil && cpuErr1 == nil && len(lat) > 0 && cpu1 > cpu0 {
		st.ServerCPUus = (cpu1 - cpu0) * 1e6 / float64(len(lat)+st.Errors)
	}
	if selfErr == nil && selfErr1 == nil && st.Requests > 0 {
		st.ClientCPUus = (self1 - self0) * 1e6 / float64(st.Requests)
	}
	st.ServerCtxPerReq = ctxPerReq(srvCS0, srvCS1, srvCSErr, srvCSErr1, st.Requests)
	st.ClientCtxPerReq = ctxPerReq(selfCS0, selfCS1, selfCSErr, selfCSErr1, st.Requests)
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		st.LoadAvg = strings.TrimSpace(string(b))
	}
	slices.Sort(lat)
	st.P50ms = ms(percentile(lat, 50))
	st.P90ms = ms(percentile(lat, 90))
	st.P99ms = ms(percentile(lat, 99))
	if len(lat) > 0 {
		st.MaxMs = ms(lat[len(lat)-1])
	}
	// Read after the measurement, so that parsing it costs the
	// measurement nothing.
	if log0 >= 0 && log1 > log0 {
		if ht, err := handlerTimes(p.ServerLog, log0, log1); err == nil && len(ht) > 0 {
			st.ServerP50ms = ms(percentile(ht, 50))
			st.ServerP90ms = ms(percentile(ht, 90))
			st.ServerP99ms = ms(percentile(ht, 99))
		}
	}
	return st, nil
}

// serverCtxSwitches returns the server's context switches, or an error
// when unknown.
func serverCtxSwitches(p loadParams) (ctxSwitches, error) {
	if p.ServerPID == 0 {
		return ctxSwitches{}, fmt.Errorf("no server process")
	}
	return procCtxSwitches(p.ServerPID)
}

// serverCPU returns the server's CPU seconds, or an error when unknown.
func serverCPU(p loadParams) (float64, error) {
	if p.ServerCPU == nil {
		return 0, fmt.Errorf("no server CPU")
	}
	return p.ServerCPU()
}

type clientResult struct {
	lat      []time.Duration
	errors   int
	firstErr string
}

// loop runs the clients until deadline. salt varies the request sequence
// between the warm-up and the measurement.
//
// Without p.Rate each client sends its next request as soon as the last
// one is answered (a closed loop: the latency is also what the clients'
// own number makes them wait). With p.Rate each client sends on a fixed
// schedule of p.Clients/p.Rate seconds between requests, the clients'
// schedules staggered evenly. A client whose answer came after its next
// request was due sends at once and counts that request's latency from
// when it was due, so a slow answer also lengthens the ones queued behind
// it, as users would see (no coordinated omission); a client on time
// sleeps until the due time and counts from when it actually sends, so
// the harness's own timer lateness is not counted against the server.
func loop(ctx context.Context, p loadParams, deadline time.Time, salt uint64) []clientResult {
	results := make([]clientResult, p.Clients)
	var interval time.Duration
	if p.Rate > 0 {
		interval = time.Duration(float64(p.Clients) / p.Rate * float64(time.Second))
	}
	begin := time.Now()
	var wg sync.WaitGroup
	for i := range p.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(p.Seed), uint64(i)+salt))
			r := &results[i]
			conn, err := newLoadConn(p.Client.base, p.Client.http.Timeout)
			if err != nil {
				r.errors++
				r.firstErr = err.Error()
				return
			}
			defer conn.close()
			r.lat = make([]time.Duration, 0, 1<<14)
			due := begin.Add(interval * time.Duration(i) / time.Duration(p.Clients))
			for ctx.Err() == nil {
				t0 := time.Now()
				if interval > 0 {
					if wait := due.Sub(t0); wait > 0 {
						time.Sleep(wait)
						t0 = time.Now()
					} else {
						t0 = due
					}
					due = due.Add(interval)
				}
				if !t0.Before(deadline) {
					return
				}
				err := fetch(ctx, conn, p.Endpoint.Path(rng))
				d := time.Since(t0)
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					r.errors++
					if r.firstErr == "" {
						r.firstErr = err.Error()
					}
					continue
				}
				r.lat = append(r.lat, d)
			}
		}()
	}
	wg.Wait()
	return results
}

// fetch sends one GET on conn and reads the whole body.
func fetch(ctx context.Context, conn *loadConn, path string) error {
	code, _, err := conn.get(ctx, path)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", path, code)
	}
	return nil
}

// percentile returns the p-th percentile of sorted latencies by the
// nearest-rank method; 0 for none.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	rank = max(0, min(rank, len(sorted)-1))
	return sorted[rank]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// ctxLine describes the context switches per request for the progress log.
func (st Stats) ctxLine() string {
	f := func(c *CtxPerReq) string {
		if c == nil {
			return "?"
		}
		return fmt.Sprintf("%.2f voluntary, %.2f involuntary", c.Voluntary, c.Involuntary)
	}
	return "context switches per request: server " + f(st.ServerCtxPerReq) + ", client " + f(st.ClientCtxPerReq)
}
