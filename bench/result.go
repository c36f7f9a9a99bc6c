package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/atrium-portal/atrium/bench/gen"
)

// Result is one benchmark run.
type Result struct {
	When      time.Time `json:"when"`
	DB        string    `json:"db"`
	N         int       `json:"n"`
	Seed      int64     `json:"seed"`
	Relations int       `json:"relations"`
	Files     int       `json:"files"`
	Clients   int       `json:"clients"`
	Duration  string    `json:"duration"`
	Machine   Machine   `json:"machine"`
	Ingest    Ingest    `json:"ingest"`
	// PeakRSSIngestMB is the server's peak RSS when ingestion was complete.
	PeakRSSIngestMB float64 `json:"peakRssIngestMB"`
	// PeakRSSMB is the server's peak RSS at the end of the load phase.
	PeakRSSMB float64 `json:"peakRssMB"`
	// IngestCPUSeconds is the server's user and system CPU time when
	// ingestion was complete: the cost of start-up and ingestion, which,
	// unlike Ingest.Seconds, hardly depends on other work on the machine.
	IngestCPUSeconds float64 `json:"ingestCpuSeconds"`
	// SettleSeconds is how long after ingestion the server went idle
	// (under a tenth of a core): the load phase starts then.
	SettleSeconds float64 `json:"settleSeconds"`
	Endpoints     []Stats `json:"endpoints"`
	// Users is the -users load test, which replaces Endpoints.
	Users *UsersResult `json:"users,omitempty"`
	// Floor is the by-name load against a server that only writes one
	// fixed answer (-floor): the best this machine and load generator
	// allow any net/http server.
	Floor *Stats `json:"floor,omitempty"`
	// Profiled runs carry the profiler's overhead.
	Profiled bool `json:"profiled,omitempty"`
}

// Machine describes where the run happened.
type Machine struct {
	CPUs     int    `json:"cpus"`
	CPUModel string `json:"cpuModel"`
	MemoryMB int64  `json:"memoryMB"`
	Go       string `json:"go"`
	// LoadAvg is /proc/loadavg when the run started: other work on the
	// machine skews every number, so it is recorded with them.
	LoadAvg string `json:"loadAvg"`
}

func newResult(o options, set *gen.Set, relations int) *Result {
	return &Result{
		When: time.Now().UTC(), DB: o.DB, N: o.N, Seed: o.Seed, Relations: relations,
		Files: len(set.Files) + 1, Clients: o.Clients, Duration: o.Duration.String(),
		Machine: machine(),
	}
}

func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		m.LoadAvg = strings.TrimSpace(string(b))
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if kb, err := procMeminfoKB("MemTotal"); err == nil {
		m.MemoryMB = kb / 1024
	}
	return m
}

func procMeminfoKB(key string) (int64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && k == key {
			var n int64
			_, err := fmt.Sscan(v, &n)
			return n, err
		}
	}
	return 0, fmt.Errorf("/proc/meminfo: no %s", key)
}

func markdownHeader() string {
	return "| db | entities | ingest s | ingest CPU s | peak RSS MB (ingest / end) | by-name p50 / p99 ms | by-name req/s | by-query p50 / p99 ms | by-query req/s | facets p50 / p99 ms | facets req/s | by-query (uncached) p50 / p99 ms | by-query (uncached) req/s |\n" +
		"|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
}

// MarkdownRow formats the result as one row under markdownHeader.
func (r *Result) MarkdownRow() string {
	var b strings.Builder
	fmt.Fprintf(&b, "| %s | %d | ", r.DB, r.N)
	if r.Ingest.Seconds > 0 {
		fmt.Fprintf(&b, "%.1f", r.Ingest.Seconds)
	} else {
		b.WriteString("did not finish")
	}
	fmt.Fprintf(&b, " | %.1f | %.0f / %.0f |", r.IngestCPUSeconds, r.PeakRSSIngestMB, r.PeakRSSMB)
	for _, name := range []string{"by-name", "by-query", "facets", uncachedName} {
		found := false
		for _, s := range r.Endpoints {
			if s.Name != name {
				continue
			}
			found = true
			fmt.Fprintf(&b, " %.2f / %.2f | %.0f", s.P50ms, s.P99ms, s.RPS)
			if s.Errors > 0 {
				fmt.Fprintf(&b, " (%d errors)", s.Errors)
			}
			b.WriteString(" |")
		}
		if !found {
			b.WriteString(" – | – |")
		}
	}
	return b.String()
}
