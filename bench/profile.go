package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// profileShim is added to package main of cmd/atrium through `go build
// -overlay` when the harness profiles the server, so that the server's own
// code stays free of benchmark hooks. With ATRIUM_BENCH_PROFILE_ADDR set it
// serves, on that loopback address, net/http/pprof plus /cpu/start?file=F
// and /cpu/stop (and net/http/pprof's /debug/pprof/trace for runtime
// traces); with ATRIUM_BENCH_CPUPROFILE set it profiles from the very
// start of the process, to measure ingestion.
const profileShim = `package main

import (
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	rpprof "runtime/pprof"
	"sync"
)

var benchProfile struct {
	sync.Mutex
	f *os.File
}

func benchStartCPU(path string) error {
	benchProfile.Lock()
	defer benchProfile.Unlock()
	if benchProfile.f != nil {
		rpprof.StopCPUProfile()
		benchProfile.f.Close()
		benchProfile.f = nil
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := rpprof.StartCPUProfile(f); err != nil {
		f.Close()
		return err
	}
	benchProfile.f = f
	return nil
}

func benchStopCPU() {
	benchProfile.Lock()
	defer benchProfile.Unlock()
	if benchProfile.f != nil {
		rpprof.StopCPUProfile()
		benchProfile.f.Close()
		benchProfile.f = nil
	}
}

func init() {
	if p := os.Getenv("ATRIUM_BENCH_CPUPROFILE"); p != "" {
		_ = benchStartCPU(p)
	}
	addr := os.Getenv("ATRIUM_BENCH_PROFILE_ADDR")
	if addr == "" {
		return
	}
	runtime.SetBlockProfileRate(0)
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("POST /cpu/start", func(w http.ResponseWriter, r *http.Request) {
		if err := benchStartCPU(r.URL.Query().Get("file")); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("POST /cpu/stop", func(w http.ResponseWriter, r *http.Request) { benchStopCPU() })
	go http.ListenAndServe(addr, mux)
}
`

// profiler drives the profiling shim of a server built with it.
type profiler struct {
	dir  string // where profiles are written
	addr string // the shim's listen address
}

// newProfiler prepares dir and picks a free loopback port for the shim.
func newProfiler(dir string) (*profiler, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	return &profiler{dir: abs, addr: fmt.Sprintf("127.0.0.1:%d", port)}, nil
}

// overlayFor writes the shim and the overlay file that adds it to
// cmd/atrium (in the module at modDir), and returns the overlay's path.
func overlayFor(tmp, modDir string) (string, error) {
	shim := filepath.Join(tmp, "bench_profile_shim.go")
	if err := os.WriteFile(shim, []byte(profileShim), 0o644); err != nil {
		return "", err
	}
	b, err := json.Marshal(map[string]map[string]string{
		"Replace": {filepath.Join(modDir, "cmd", "atrium", "zz_bench_profile_shim.go"): shim},
	})
	if err != nil {
		return "", err
	}
	overlay := filepath.Join(tmp, "overlay.json")
	return overlay, os.WriteFile(overlay, b, 0o644)
}

// env returns the environment that makes the shim profile ingestion into
// name and listen for further commands.
func (p *profiler) env(name string) []string {
	return []string{
		"ATRIUM_BENCH_PROFILE_ADDR=" + p.addr,
		"ATRIUM_BENCH_CPUPROFILE=" + filepath.Join(p.dir, name),
	}
}

func (p *profiler) post(ctx context.Context, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+p.addr+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profiler %s: status %d", path, resp.StatusCode)
	}
	return nil
}

// startCPU starts a CPU profile into name (stopping any running one).
func (p *profiler) startCPU(ctx context.Context, name string) error {
	return p.post(ctx, "/cpu/start?file="+url.QueryEscape(filepath.Join(p.dir, name)))
}

// stopCPU ends the running CPU profile.
func (p *profiler) stopCPU(ctx context.Context) error { return p.post(ctx, "/cpu/stop") }

// heap writes the server's heap profile into name.
func (p *profiler) heap(ctx context.Context, name string) error {
	return p.save(ctx, "/debug/pprof/heap", name)
}

// trace writes a runtime trace of the next d of the server into name
// (`go tool trace`; `go tool trace -pprof=sched` gives the time
// goroutines waited between being woken and running).
func (p *profiler) trace(ctx context.Context, name string, d time.Duration) error {
	return p.save(ctx, "/debug/pprof/trace?seconds="+strconv.FormatFloat(d.Seconds(), 'f', 3, 64), name)
}

// save writes the answer to GET path of the shim into name.
func (p *profiler) save(ctx context.Context, path, name string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.addr+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profiler %s: status %d", path, resp.StatusCode)
	}
	f, err := os.Create(filepath.Join(p.dir, name))
	if err != nil {
		return err
	}
	if _, err := f.ReadFrom(resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
