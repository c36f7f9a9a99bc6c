package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTicks is the unit of utime and stime in /proc/<pid>/stat (USER_HZ,
// 100 on every Linux architecture Go supports).
const clockTicks = 100

// procCPUSeconds returns the user and system CPU time the process has used
// so far, from /proc/<pid>/stat. Unlike wall time it hardly depends on
// other work on the machine, so it compares runs made under different
// loads.
func procCPUSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(string(b))
}

// parseStatCPU reads utime and stime (fields 14 and 15) of a stat line. The
// command name (field 2) is in parentheses and may hold spaces, so fields
// are counted from its closing parenthesis.
func parseStatCPU(stat string) (float64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat line without a command name: %q", stat)
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state): utime is field 14, f[11]; stime f[12].
	if len(f) < 13 {
		return 0, fmt.Errorf("stat line too short: %q", stat)
	}
	ut, err := strconv.ParseInt(f[11], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stat utime %q: %w", f[11], err)
	}
	st, err := strconv.ParseInt(f[12], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stat stime %q: %w", f[12], err)
	}
	return float64(ut+st) / clockTicks, nil
}

// ctxSwitches are a process's context switches summed over its threads.
type ctxSwitches struct {
	// Voluntary: a thread blocked (waiting for the network, a lock, a
	// timer) and gave up its core.
	Voluntary int64
	// Involuntary: the kernel took the core from a thread that could have
	// run on (another runnable thread's turn). Many per request mean the
	// process waits for the cores it shares: requests in flight stall for
	// a scheduler time slice.
	Involuntary int64
}

// procCtxSwitches sums voluntary_ctxt_switches and
// nonvoluntary_ctxt_switches of every thread in /proc/<pid>/task (the
// figures in /proc/<pid>/status are the main thread's only). Threads that
// ended in between are not counted.
func procCtxSwitches(pid int) (ctxSwitches, error) {
	var cs ctxSwitches
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	if err != nil || len(tasks) == 0 {
		return cs, fmt.Errorf("no threads of process %d in /proc", pid)
	}
	for _, t := range tasks {
		f, err := os.Open(t)
		if err != nil {
			continue // the thread ended
		}
		cs.add(f)
		f.Close()
	}
	return cs, nil
}

// add adds the context switch lines of one status file.
func (cs *ctxSwitches) add(f *os.File) {
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "voluntary_ctxt_switches":
			cs.Voluntary += n
		case "nonvoluntary_ctxt_switches":
			cs.Involuntary += n
		}
	}
}

// waitIdle waits until the process has used less than a twentieth of a
// core in each of three consecutive seconds (the background work that
// follows ingestion, such as building indexes, is done; on a loaded
// machine a busy process may get little more than that in one second) and
// busy (nil: not asked) reported nothing running at the end of each, or
// until timeout. It returns how long it waited.
func waitIdle(pid int, timeout time.Duration, busy func() bool) time.Duration {
	start := time.Now()
	prev, err := procCPUSeconds(pid)
	if err != nil {
		return 0
	}
	quiet := 0
	for quiet < 3 && time.Since(start) < timeout {
		time.Sleep(time.Second)
		cur, err := procCPUSeconds(pid)
		if err != nil {
			break
		}
		if cur-prev < 0.05 && (busy == nil || !busy()) {
			quiet++
		} else {
			quiet = 0
		}
		prev = cur
	}
	return time.Since(start)
}
