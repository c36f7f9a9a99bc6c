package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sys/unix"
)

// A cpuSplit divides the harness's CPUs for -pin: the load generator gets
// the last one, the server side (Atrium, the PostgreSQL backends serving
// its database, or the floor server) the others. On a machine shared by
// both, a closed-loop load generator otherwise takes the server's cores
// whenever it runs, and what the client sees is its own wait for a core
// as much as the server's answer; on separate cores the latency is the
// server's, as with a load generator on another machine.
type cpuSplit struct {
	all, server, client unix.CPUSet
}

// newCPUSplit splits the CPUs this process may run on; it needs two.
func newCPUSplit() (cpuSplit, error) {
	var s cpuSplit
	if err := unix.SchedGetaffinity(0, &s.all); err != nil {
		return s, fmt.Errorf("-pin: reading the CPU affinity: %w", err)
	}
	var cpus []int
	for i := range 1024 {
		if s.all.IsSet(i) {
			cpus = append(cpus, i)
		}
	}
	if len(cpus) < 2 {
		return s, fmt.Errorf("-pin: needs at least 2 CPUs, this process may use %d", len(cpus))
	}
	for _, c := range cpus[:len(cpus)-1] {
		s.server.Set(c)
	}
	s.client.Set(cpus[len(cpus)-1])
	return s, nil
}

// String names the split, e.g. "server CPUs [0], load generator CPU 1".
func (s cpuSplit) String() string {
	var srv []int
	cli := -1
	for i := range 1024 {
		if s.server.IsSet(i) {
			srv = append(srv, i)
		}
		if s.client.IsSet(i) {
			cli = i
		}
	}
	return fmt.Sprintf("server CPUs %v, load generator CPU %d", srv, cli)
}

// pin moves the server-side processes onto the server's CPUs and this
// process onto the load generator's, and returns what puts everything
// back on all CPUs. The Go runtimes follow: the harness sets its
// GOMAXPROCS to its one CPU; a Go server without GOMAXPROCS in its
// environment adjusts its own within a second (Go ≥ 1.25), which the
// settle wait covers.
func (s cpuSplit) pin(pids []int, settle time.Duration) (func(), error) {
	undo := func() {
		for _, pid := range pids {
			_ = setProcessAffinity(pid, &s.all)
		}
		_ = setProcessAffinity(os.Getpid(), &s.all)
		runtime.SetDefaultGOMAXPROCS()
	}
	for _, pid := range pids {
		if err := setProcessAffinity(pid, &s.server); err != nil {
			undo()
			return nil, err
		}
	}
	if err := setProcessAffinity(os.Getpid(), &s.client); err != nil {
		undo()
		return nil, err
	}
	runtime.GOMAXPROCS(s.client.Count())
	time.Sleep(settle)
	return undo, nil
}

// setProcessAffinity sets the affinity of every thread of process pid.
// Threads started meanwhile inherit it from their (already moved) parent
// thread; a second pass catches any started before their parent moved.
func setProcessAffinity(pid int, set *unix.CPUSet) error {
	for range 2 {
		tasks, err := os.ReadDir(filepath.Join("/proc", strconv.Itoa(pid), "task"))
		if err != nil {
			return fmt.Errorf("-pin: threads of process %d: %w", pid, err)
		}
		for _, t := range tasks {
			tid, err := strconv.Atoi(t.Name())
			if err != nil {
				continue
			}
			if err := unix.SchedSetaffinity(tid, set); err != nil && err != unix.ESRCH {
				return fmt.Errorf("-pin: setting the affinity of thread %d of process %d: %w", tid, pid, err)
			}
		}
	}
	return nil
}

// backendPIDs returns the PostgreSQL backends connected to the database:
// with -pin they run on the server's CPUs, as part of the server side.
func (d *database) backendPIDs(ctx context.Context) ([]int, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, d.admin)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", d.Name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var pids []int
	for rows.Next() {
		var pid int32
		if err := rows.Scan(&pid); err != nil {
			return nil, err
		}
		pids = append(pids, int(pid))
	}
	return pids, rows.Err()
}
