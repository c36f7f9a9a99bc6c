package pluginhost

import (
	"slices"
	"sync"
	"time"
)

// callStats counts calls into a plugin. Its mutex is held for a few
// instructions only.
type callStats struct {
	mu     sync.Mutex
	calls  int64
	errors int64
	total  time.Duration
	// recent are the latest latencies and outcomes, a ring of ringSize,
	// for the percentile and the recent error rate.
	recent    [ringSize]time.Duration
	recentErr [ringSize]bool
	n         int
}

const ringSize = 256

func (c *callStats) record(d time.Duration, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	c.total += d
	if err != nil {
		c.errors++
	}
	c.recent[c.n%ringSize] = d
	c.recentErr[c.n%ringSize] = err != nil
	c.n++
}

type callSnapshot struct {
	calls, errors   int64
	avg, p95, total time.Duration
	recentErrRate   float64
	recentCalls     int
}

func (c *callStats) snapshot() callSnapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := callSnapshot{calls: c.calls, errors: c.errors, total: c.total}
	if c.calls > 0 {
		s.avg = c.total / time.Duration(c.calls)
	}
	k := min(c.n, ringSize)
	if k == 0 {
		return s
	}
	lat := slices.Clone(c.recent[:k])
	slices.Sort(lat)
	s.p95 = lat[(k*95-1)/100]
	// The error rate of the last 20 calls decides "degraded".
	errs, m := 0, min(k, 20)
	for i := 1; i <= m; i++ {
		if c.recentErr[(c.n-i)%ringSize] {
			errs++
		}
	}
	s.recentCalls = m
	s.recentErrRate = float64(errs) / float64(m)
	return s
}

// Stats are a plugin's health and counters, for the admin page, the
// API and metrics.
type Stats struct {
	ID          string  `json:"id"`
	Version     string  `json:"version"`
	Description string  `json:"description,omitempty"`
	Kind        string  `json:"kind"` // external or builtin
	State       State   `json:"state"`
	Breaker     Breaker `json:"breaker,omitempty"`
	Pid         int     `json:"pid,omitempty"`
	// StartedAt is when the running process started; Uptime its age.
	StartedAt     *time.Time `json:"startedAt,omitempty"`
	UptimeSeconds float64    `json:"uptimeSeconds"`
	Restarts      int        `json:"restarts"`
	// Failures are the consecutive failed starts and crashes.
	Failures    int        `json:"consecutiveFailures"`
	NextRestart *time.Time `json:"nextRestart,omitempty"`
	LastError   string     `json:"lastError,omitempty"`
	LastErrorAt *time.Time `json:"lastErrorAt,omitempty"`
	Calls       int64      `json:"calls"`
	Errors      int64      `json:"errors"`
	ErrorRate   float64    `json:"errorRate"`
	// LatencyAvgMs is over all calls; LatencyP95Ms over the last 256.
	LatencyAvgMs float64 `json:"latencyAvgMs"`
	LatencyP95Ms float64 `json:"latencyP95Ms"`
	// CallSeconds is the time spent in all calls.
	CallSeconds float64 `json:"callSecondsTotal"`
	// Wired is true once the plugin's components are wired into the
	// catalog, the scaffolder and the portal: at start, or as soon as a
	// plugin installed while Atrium runs is running. WireError says why
	// wiring failed (or left some components out).
	Wired       bool   `json:"wired"`
	WireError   string `json:"wireError,omitempty"`
	RSSBytes    int64  `json:"rssBytes"`
	MemoryLimit int64  `json:"memoryLimitBytes"`
}

// Stats returns the plugin's current health and counters.
func (s *Supervisor) Stats() Stats {
	cs := s.stats.snapshot()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{
		ID: s.id, Version: s.spec.Manifest.Version, Description: s.info.Description, Kind: "external",
		State: s.state, Breaker: s.breaker, Restarts: s.restarts, Failures: s.failures, LastError: s.lastErr,
		Calls: cs.calls, Errors: cs.errors, LatencyAvgMs: ms(cs.avg), LatencyP95Ms: ms(cs.p95), CallSeconds: cs.total.Seconds(),
		MemoryLimit: s.spec.Limits.MemoryLimit, Wired: s.wired, WireError: s.wireErr,
	}
	if cs.calls > 0 {
		st.ErrorRate = float64(cs.errors) / float64(cs.calls)
	}
	if !s.lastErrAt.IsZero() {
		t := s.lastErrAt.UTC()
		st.LastErrorAt = &t
	}
	if !s.nextRestart.IsZero() {
		t := s.nextRestart.UTC()
		st.NextRestart = &t
	}
	if s.cur != nil {
		t := s.startedAt.UTC()
		st.StartedAt = &t
		st.UptimeSeconds = time.Since(s.startedAt).Seconds()
		st.Pid = s.cur.proc.Pid()
		st.RSSBytes = s.rss
		if s.breaker == BreakerHalfOpen || (cs.recentCalls >= 10 && cs.recentErrRate >= 0.5) {
			st.State = StateDegraded
		}
	}
	return st
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
