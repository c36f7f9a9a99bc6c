package main

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// floorEnv, when set in the harness's environment, makes the process a
// floor server answering every GET with the file it names (see -floor).
const floorEnv = "ATRIUM_BENCH_FLOOR_BODY"

// The floor is what this machine and this load generator allow at best: the
// by-name load against a server that does nothing but write one fixed
// answer (a real by-name answer of the catalog, of median size) with Go's
// net/http, in a process of its own as Atrium is. Whatever latency and
// throughput the floor has, no server written with net/http reaches better
// on the same cores with the same clients; the gap between Atrium's figures
// and the floor's is what Atrium's own work costs.

// floorHandler answers every request with body as JSON.
func floorHandler(body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Type"] = []string{"application/json; charset=utf-8"}
		w.Write(body)
	})
}

// floorServe is the floor server's main: it listens on a free port of
// 127.0.0.1, prints the address as its first line of output and serves
// until killed.
func floorServe(bodyFile string) error {
	body, err := os.ReadFile(bodyFile)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println(l.Addr().String())
	srv := &http.Server{Handler: floorHandler(body), ReadHeaderTimeout: 10 * time.Second}
	return srv.Serve(l)
}

// floorServer is a running floor server.
type floorServer struct {
	cmd     *exec.Cmd
	BaseURL string
}

// startFloor starts this executable as a floor server answering with the
// contents of bodyFile.
func startFloor(ctx context.Context, bodyFile string) (*floorServer, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), floorEnv+"="+bodyFile)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the floor server: %w", err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			addr <- strings.TrimSpace(sc.Text())
		}
		close(addr)
	}()
	select {
	case a, ok := <-addr:
		if !ok || a == "" {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return nil, fmt.Errorf("the floor server printed no address")
		}
		return &floorServer{cmd: cmd, BaseURL: "http://" + a}, nil
	case <-time.After(10 * time.Second):
	case <-ctx.Done():
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	return nil, fmt.Errorf("the floor server did not start within 10 s")
}

// PID returns the floor server's process id.
func (f *floorServer) PID() int { return f.cmd.Process.Pid }

// Stop kills the floor server.
func (f *floorServer) Stop() {
	_ = f.cmd.Process.Kill()
	_ = f.cmd.Wait()
}

// floorBody fetches by-name answers of n entities drawn by ep and returns
// the one of median size.
func floorBody(ctx context.Context, c *client, ep endpoint, n int, seed int64) ([]byte, error) {
	rng := rand.New(rand.NewPCG(uint64(seed), 99))
	var bodies [][]byte
	for range n {
		path := ep.Path(rng)
		code, b, err := c.get(ctx, path)
		if err != nil {
			return nil, err
		}
		if code != http.StatusOK {
			return nil, fmt.Errorf("GET %s: status %d", path, code)
		}
		bodies = append(bodies, b)
	}
	if len(bodies) == 0 {
		return nil, fmt.Errorf("no answers to choose a floor body from")
	}
	slices.SortFunc(bodies, func(a, b []byte) int { return len(a) - len(b) })
	return bodies[len(bodies)/2], nil
}

// measureFloor runs the load of p against a floor server answering with
// body; p.Client, p.ServerCPU, p.ServerPID and p.ServerLog are replaced.
func measureFloor(ctx context.Context, p loadParams, body []byte, dir string) (Stats, error) {
	bodyFile := dir + "/floor-body.json"
	if err := os.WriteFile(bodyFile, body, 0o644); err != nil {
		return Stats{}, err
	}
	f, err := startFloor(ctx, bodyFile)
	if err != nil {
		return Stats{}, err
	}
	defer f.Stop()
	p.Client = newClient(f.BaseURL, p.Clients, p.Client.http.Timeout)
	p.ServerPID = f.PID()
	p.ServerCPU = func() (float64, error) { return procCPUSeconds(f.PID()) }
	p.ServerLog = ""
	st, err := runLoad(ctx, p)
	st.Name = "floor (" + p.Endpoint.Name + ")"
	return st, err
}
