// Command bench measures Atrium on a generated catalog: how long the server
// takes from process start until every entity is queryable with its
// relations, its peak memory, and the latency and throughput of the hot read
// endpoints under concurrent clients.
//
//	go run ./bench -n 100000 -db sqlite
//	go run ./bench -n 100000 -db postgres -pg postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
//
// The server is the real `atrium` binary, built from ./cmd/atrium and started
// as a subprocess on 127.0.0.1 with a fresh database. See docs/benchmarks.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/atrium-portal/atrium/bench/gen"
)

// options are the command-line flags.
type options struct {
	N             int
	DB            string
	PG            string
	Out           string
	Seed          int64
	PerFile       int
	Clients       int
	Duration      time.Duration
	Warmup        time.Duration
	IngestTimeout time.Duration
	Bin           string
	Keep          bool
	Samples       int
	ReqTimeout    time.Duration
	Profile       string
	Src           string
	Pages         bool
	Users         int
	Think         time.Duration
	TargetP95     time.Duration
	Floor         bool
	Uncached      bool
	Pin           bool
	Rate          float64
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.IntVar(&o.N, "n", 10_000, "number of entities to generate")
	fs.StringVar(&o.DB, "db", "sqlite", "database engine: sqlite or postgres")
	fs.StringVar(&o.PG, "pg", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable",
		"PostgreSQL server URL; a fresh database is created on it for the run and dropped after")
	fs.StringVar(&o.Out, "out", "", "write the results as JSON to this file")
	fs.Int64Var(&o.Seed, "seed", 1, "generator seed")
	fs.IntVar(&o.PerFile, "per-file", gen.DefaultPerFile, "entities per generated YAML file")
	fs.IntVar(&o.Clients, "clients", 8, "concurrent clients during the load phase")
	fs.DurationVar(&o.Duration, "d", 10*time.Second, "load duration per endpoint")
	fs.DurationVar(&o.Warmup, "warmup", time.Second, "unmeasured load before each endpoint's measurement")
	fs.DurationVar(&o.IngestTimeout, "ingest-timeout", 15*time.Minute, "give up waiting for ingestion after this long")
	fs.StringVar(&o.Bin, "bin", "", "use this atrium binary instead of building ./cmd/atrium")
	fs.BoolVar(&o.Keep, "keep", false, "keep the temporary folder (data, config, server log) and the PostgreSQL database")
	fs.IntVar(&o.Samples, "samples", 25, "entities whose relations are checked one by one after ingestion")
	fs.StringVar(&o.Src, "src", "", "build ./cmd/atrium from the module in this folder (default: the module the harness runs in), e.g. a `git archive HEAD` export")
	fs.StringVar(&o.Profile, "profile", "", "build the server with a profiling hook and write CPU profiles of ingestion and of each endpoint (with -users: of the measured load, users.cpu.pprof), a runtime trace of 2 s in the middle of each endpoint's measurement, and heap profiles after ingestion and after each endpoint, into this folder (numbers of profiled runs are not comparable)")
	fs.BoolVar(&o.Pages, "pages", false, "also measure the portal's catalog list and entity pages")
	fs.IntVar(&o.Users, "users", 0, "instead of loading each endpoint, simulate this many people browsing the catalog (catalog page, entity page, think) for -d")
	fs.DurationVar(&o.Think, "think", time.Second, "with -users: mean of the exponential think time after each entity page")
	fs.DurationVar(&o.TargetP95, "target-p95", 100*time.Millisecond, "with -users: the p95 of all requests that passes")
	fs.BoolVar(&o.Floor, "floor", false, "after the endpoints, run the by-name load once more against a server that only writes one fixed by-name answer (net/http, a process of its own): the best this machine and load generator allow")
	fs.BoolVar(&o.Pin, "pin", false, "during each endpoint's load, run the server (with its PostgreSQL backends, or the floor server) on all CPUs but the last and the load generator on the last one, as with a load generator on another machine (Linux, at least 2 CPUs; ingestion still uses every CPU)")
	fs.Float64Var(&o.Rate, "rate", 0, "pace the clients to this many requests per second in all instead of sending each next request as soon as the last is answered; latency counts from when a request was due (0: as fast as answered)")
	fs.BoolVar(&o.Uncached, "uncached", true, `after the endpoints, restart the server on the same database with the answer cache off (atrium.cache.answers: 0) and measure by-query once more as "by-query (uncached)": every request a miss`)
	fs.DurationVar(&o.ReqTimeout, "request-timeout", time.Minute, "give up on one request after this long (counted as an error)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case o.DB != "sqlite" && o.DB != "postgres":
		return o, fmt.Errorf("-db must be sqlite or postgres, got %q", o.DB)
	case o.N < 20 || o.N > gen.MaxEntities:
		return o, fmt.Errorf("-n must be between 20 and %d, got %d", gen.MaxEntities, o.N)
	case o.Clients < 1 || o.Clients > 1024:
		return o, fmt.Errorf("-clients must be between 1 and 1024, got %d", o.Clients)
	case o.Duration <= 0:
		return o, fmt.Errorf("-d must be positive, got %v", o.Duration)
	case o.Warmup < 0:
		return o, fmt.Errorf("-warmup must not be negative, got %v", o.Warmup)
	case o.IngestTimeout <= 0:
		return o, fmt.Errorf("-ingest-timeout must be positive, got %v", o.IngestTimeout)
	case o.PerFile < 1:
		return o, fmt.Errorf("-per-file must be at least 1, got %d", o.PerFile)
	case o.ReqTimeout <= 0:
		return o, fmt.Errorf("-request-timeout must be positive, got %v", o.ReqTimeout)
	case o.Src != "" && o.Bin != "":
		return o, fmt.Errorf("-src builds a binary; it cannot be used with -bin")
	case o.Profile != "" && o.Bin != "":
		return o, fmt.Errorf("-profile builds its own binary; it cannot be used with -bin")
	case o.Users < 0 || o.Users > 5000:
		return o, fmt.Errorf("-users must be between 0 and 5000, got %d", o.Users)
	case o.Think < 0:
		return o, fmt.Errorf("-think must not be negative, got %v", o.Think)
	case o.Users > 0 && o.Pages:
		return o, fmt.Errorf("-users runs its own load; it cannot be used with -pages")
	case o.Users > 0 && o.Floor:
		return o, fmt.Errorf("-floor measures the by-name endpoint; it cannot be used with -users")
	case o.Rate < 0:
		return o, fmt.Errorf("-rate must not be negative, got %v", o.Rate)
	case o.Rate > 0 && o.Users > 0:
		return o, fmt.Errorf("-users paces its own load; it cannot be used with -rate")
	case o.Pin && o.Users > 0:
		return o, fmt.Errorf("-pin applies to the endpoints' load; it cannot be used with -users")
	case o.Samples < 0:
		return o, fmt.Errorf("-samples must not be negative, got %d", o.Samples)
	}
	return o, nil
}

func main() {
	log.SetFlags(log.Ltime)
	log.SetPrefix("bench: ")
	if body := os.Getenv(floorEnv); body != "" {
		log.Fatal(floorServe(body))
	}
	o, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := run(ctx, o)
	if res != nil {
		if res.Users != nil {
			fmt.Println(usersHeader())
			fmt.Println(usersRow(res))
		} else {
			fmt.Println(markdownHeader())
			fmt.Println(res.MarkdownRow())
		}
		if o.Out != "" {
			b, _ := json.MarshalIndent(res, "", "  ")
			if werr := os.WriteFile(o.Out, append(b, '\n'), 0o644); werr != nil {
				log.Printf("writing %s: %v", o.Out, werr)
			}
		}
	}
	if err != nil {
		log.Fatal(err)
	}
}

// run does one benchmark: generate, start the server, wait for ingestion,
// load each endpoint, stop.
func run(ctx context.Context, o options) (*Result, error) {
	tmp, err := os.MkdirTemp("", "atrium-bench-")
	if err != nil {
		return nil, err
	}
	if o.Keep {
		log.Printf("keeping %s", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}

	log.Printf("generating %d entities (seed %d)", o.N, o.Seed)
	set, err := gen.New(o.N, o.Seed, gen.Options{PerFile: o.PerFile})
	if err != nil {
		return nil, err
	}
	catalogDir := filepath.Join(tmp, "catalog")
	if err := set.WriteDir(catalogDir); err != nil {
		return nil, err
	}
	exp := expectationsOf(set, o.Samples, o.Seed)

	var prof *profiler
	var env []string
	bin := o.Bin
	if bin == "" {
		modDir := o.Src
		if modDir == "" {
			if modDir, err = moduleDir(ctx); err != nil {
				return nil, err
			}
		}
		if modDir, err = filepath.Abs(modDir); err != nil {
			return nil, err
		}
		overlay := ""
		if o.Profile != "" {
			if prof, err = newProfiler(o.Profile); err != nil {
				return nil, err
			}
			if overlay, err = overlayFor(tmp, modDir); err != nil {
				return nil, err
			}
			env = prof.env("ingest.cpu.pprof")
			log.Printf("profiling into %s", prof.dir)
		}
		log.Printf("building ./cmd/atrium in %s", modDir)
		if bin, err = buildServer(ctx, modDir, tmp, overlay); err != nil {
			return nil, err
		}
	}

	res := newResult(o, set, len(exp.relations))
	log.Printf("load average before the run: %s", res.Machine.LoadAvg)
	var pin *cpuSplit
	if o.Pin {
		split, err := newCPUSplit()
		if err != nil {
			return nil, err
		}
		pin = &split
		log.Printf("-pin: %s during each endpoint's load", split)
	}
	dsn := ""
	var dbBusy func() bool
	var dbBackends func() []int
	if o.DB == "postgres" {
		db, err := createDatabase(ctx, o.PG, o.N)
		if err != nil {
			return nil, err
		}
		dsn = db.DSN
		dbBusy = func() bool { return db.busy(ctx) }
		dbBackends = func() []int {
			pids, err := db.backendPIDs(ctx)
			if err != nil {
				log.Printf("-pin: the database's backends stay unpinned: %v", err)
			}
			return pids
		}
		if !o.Keep {
			defer func() {
				if err := db.Drop(context.WithoutCancel(ctx)); err != nil {
					log.Printf("dropping database: %v", err)
				}
			}()
		}
	}

	sp := serverParams{
		Bin: bin, Dir: tmp, Root: filepath.Join(catalogDir, gen.RootFile),
		Engine: o.DB, DSN: dsn, Entities: o.N, Env: env,
	}
	srv, err := startServer(ctx, sp)
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	log.Printf("server started (pid %d) on %s, log in %s", srv.PID(), srv.BaseURL, srv.LogPath)

	c := newClient(srv.BaseURL, o.Clients, o.ReqTimeout)
	ing, err := waitIngested(ctx, ingestParams{
		Client: c, Exp: exp, Start: srv.Started, Timeout: o.IngestTimeout, Exited: srv.Exited,
	})
	res.Ingest = ing
	res.PeakRSSIngestMB = srv.PeakRSSMB()
	if cpu, cerr := procCPUSeconds(srv.PID()); cerr == nil {
		res.IngestCPUSeconds = cpu
	}
	if err != nil {
		return res, fmt.Errorf("%w\n%s", err, srv.LogTail(40))
	}
	log.Printf("ingested in %.2fs (all entities visible after %.2fs), server CPU %.1fs, peak RSS %.0f MB",
		ing.Seconds, ing.CountsSeconds, res.IngestCPUSeconds, res.PeakRSSIngestMB)
	// Measure the queries on a settled server, not during the work that
	// follows the last entity write (edges, orphans, index builds), on
	// PostgreSQL in the database's own processes too (index builds and
	// the vacuum after a bulk load).
	res.SettleSeconds = waitIdle(srv.PID(), 5*time.Minute, dbBusy).Seconds()
	log.Printf("server idle %.1fs later", res.SettleSeconds)
	if prof != nil {
		res.Profiled = true
		if err := prof.stopCPU(ctx); err != nil {
			return res, err
		}
		if err := prof.heap(ctx, "ingest.heap.pprof"); err != nil {
			return res, err
		}
	}

	if o.Users > 0 {
		return res, runUsersPhase(ctx, o, set, srv, prof, res)
	}

	eps := endpoints(set)
	if o.Pages {
		eps = append(eps, pageEndpoints(set)...)
	}
	for _, ep := range eps {
		log.Printf("load: %s, %d clients, %v", ep.Name, o.Clients, o.Duration)
		if prof != nil {
			if err := prof.startCPU(ctx, ep.Name+".cpu.pprof"); err != nil {
				return res, err
			}
		}
		var traceErr chan error
		if prof != nil {
			traceErr = make(chan error, 1)
			go func() { traceErr <- traceMidLoad(ctx, prof, ep.Name+".trace", o.Warmup, o.Duration) }()
		}
		st, err := runLoad(ctx, loadParams{
			Client: c, Endpoint: ep, Clients: o.Clients, Duration: o.Duration, Warmup: o.Warmup, Seed: o.Seed,
			ServerCPU: func() (float64, error) { return procCPUSeconds(srv.PID()) },
			ServerPID: srv.PID(), ServerLog: srv.LogPath,
			Rate: o.Rate, Pin: pin, PinAlso: dbBackends,
		})
		if err != nil {
			return res, err
		}
		if prof != nil {
			if err := <-traceErr; err != nil {
				return res, err
			}
			if err := prof.stopCPU(ctx); err != nil {
				return res, err
			}
			// Its alloc_space less the previous heap profile's is what
			// this endpoint's load allocated (pprof -diff_base).
			if err := prof.heap(ctx, ep.Name+".heap.pprof"); err != nil {
				return res, err
			}
		}
		log.Printf("  p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, %.0f req/s, %d errors, server CPU %.0f µs per request, client CPU %.0f µs", st.P50ms, st.P90ms, st.P99ms, st.RPS, st.Errors, st.ServerCPUus, st.ClientCPUus)
		log.Printf("  inside the server p50 %.3f ms, p90 %.3f ms, p99 %.3f ms; %s; load %s", st.ServerP50ms, st.ServerP90ms, st.ServerP99ms, st.ctxLine(), st.LoadAvg)
		res.Endpoints = append(res.Endpoints, st)
	}
	res.PeakRSSMB = srv.PeakRSSMB()
	if o.Uncached {
		srv2, c2, err := runUncachedPhase(ctx, o, set, sp, srv, uncachedDB{dbBusy, dbBackends}, prof, pin, res)
		if srv2 != nil {
			defer srv2.Stop()
		}
		if err != nil {
			return res, err
		}
		srv, c = srv2, c2
	}
	if o.Floor {
		return res, runFloorPhase(ctx, o, c, set, srv, tmp, res, pin)
	}
	return res, nil
}

// runFloorPhase measures the floor (floor.go) of the by-name load with an
// answer of the catalog, after Atrium has stopped.
func runFloorPhase(ctx context.Context, o options, c *client, set *gen.Set, srv *server, tmp string, res *Result, pin *cpuSplit) error {
	ep := endpoints(set)[0]
	body, err := floorBody(ctx, c, ep, 101, o.Seed)
	if err != nil {
		return fmt.Errorf("floor: %w", err)
	}
	srv.Stop()
	log.Printf("floor: %s, %d clients, %v, a fixed %d-byte answer", ep.Name, o.Clients, o.Duration, len(body))
	st, err := measureFloor(ctx, loadParams{
		Client: c, Endpoint: ep, Clients: o.Clients, Duration: o.Duration, Warmup: o.Warmup, Seed: o.Seed,
		Rate: o.Rate, Pin: pin,
	}, body, tmp)
	if err != nil {
		return fmt.Errorf("floor: %w", err)
	}
	log.Printf("  p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, %.0f req/s, %d errors, server CPU %.0f µs per request, client CPU %.0f µs", st.P50ms, st.P90ms, st.P99ms, st.RPS, st.Errors, st.ServerCPUus, st.ClientCPUus)
	log.Printf("  %s; load %s", st.ctxLine(), st.LoadAvg)
	res.Floor = &st
	return nil
}

// traceMidLoad records a runtime trace of the server into name over the
// middle of an endpoint's measurement (at most 2 s, starting after the
// warm-up and a quarter of the measured time).
func traceMidLoad(ctx context.Context, prof *profiler, name string, warmup, d time.Duration) error {
	span := min(2*time.Second, d/2)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(warmup + d/4):
	}
	return prof.trace(ctx, name, span)
}
