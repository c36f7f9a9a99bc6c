package main

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A paced load sends no more requests than its schedule holds, however
// fast the server answers; an unpaced one against the same server sends
// many more (so the bound below can fail).
func TestRunLoadPacedKeepsToItsRate(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	const clients, rate, d = 4, 200.0, 500 * time.Millisecond
	ep := endpoint{Name: "ok", Path: func(*rand.Rand) string { return "/ok" }}
	run := func(r float64) Stats {
		t.Helper()
		st, err := runLoad(context.Background(), loadParams{
			Client: newClient(srv.URL, clients, 0), Clients: clients, Duration: d, Seed: 1, Endpoint: ep, Rate: r,
		})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	// Each client's requests are due every clients/rate seconds from its
	// staggered start, so at most d/interval + 1 fall before the deadline.
	bound := clients * (int(d.Seconds()*rate/clients) + 1)
	paced := run(rate)
	if paced.Requests == 0 || paced.Requests > bound || paced.TargetRPS != rate {
		t.Errorf("paced at %v/s for %v: got %d requests (target %v), want 1..%d", rate, d, paced.Requests, paced.TargetRPS, bound)
	}
	if free := run(0); free.Requests <= bound {
		t.Errorf("unpaced: got %d requests, want more than the paced bound %d (else the bound tests nothing)", free.Requests, bound)
	}
}

// pin moves the given processes and the harness onto their CPUs and the
// undo puts both back on all of them.
func TestCPUSplitPinsAndRestores(t *testing.T) {
	split, err := newCPUSplit()
	if err != nil {
		t.Skipf("this machine cannot split: %v", err)
	}
	// A child process stands in for the server.
	child, err := os.StartProcess("/bin/sleep", []string{"sleep", "30"}, &os.ProcAttr{})
	if err != nil {
		t.Skipf("no /bin/sleep: %v", err)
	}
	defer child.Kill()
	undo, err := split.pin([]int{child.Pid}, 0)
	if err != nil {
		t.Fatal(err)
	}
	affinity := func(pid int) unix.CPUSet {
		var s unix.CPUSet
		if err := unix.SchedGetaffinity(pid, &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	if got := affinity(child.Pid); got != split.server {
		t.Errorf("server side pinned to %v, want %v", got, split.server)
	}
	if got := affinity(0); got != split.client {
		t.Errorf("load generator pinned to %v, want %v", got, split.client)
	}
	if got := runtime.GOMAXPROCS(0); got != split.client.Count() {
		t.Errorf("GOMAXPROCS while pinned: got %d, want %d", got, split.client.Count())
	}
	undo()
	if got := affinity(child.Pid); got != split.all {
		t.Errorf("server side after undo: %v, want %v", got, split.all)
	}
	if got := affinity(0); got != split.all {
		t.Errorf("load generator after undo: %v, want %v", got, split.all)
	}
}
