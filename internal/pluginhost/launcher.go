package pluginhost

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/atrium-portal/atrium/plugin"
)

// Launcher starts plugin processes. The host's is the gRPC transport
// (internal/pluginhost/rpc); tests use their own.
type Launcher interface {
	Launch(ctx context.Context, spec LaunchSpec) (Process, error)
}

// LaunchSpec is what a Launcher starts.
type LaunchSpec struct {
	ID, Version string
	// Path is the executable; SHA256 its expected checksum (hex), when known.
	Path   string
	SHA256 string
	Logger *slog.Logger
	// StartTimeout bounds the start; CallTimeout each unary call.
	StartTimeout time.Duration
	CallTimeout  time.Duration
}

// Process is a running plugin: the plugin itself (the same interface as
// a built-in) and the process behind it.
type Process interface {
	plugin.Plugin
	// Pid is the operating system's process id.
	Pid() int
	// Exited is closed once the process has ended.
	Exited() <-chan struct{}
	// Kill ends the process at once.
	Kill()
}

// LauncherFunc adapts a function to Launcher.
type LauncherFunc func(ctx context.Context, spec LaunchSpec) (Process, error)

// Launch calls f.
func (f LauncherFunc) Launch(ctx context.Context, spec LaunchSpec) (Process, error) {
	return f(ctx, spec)
}

// processRSS returns the resident memory of pid in bytes, read from
// /proc/<pid>/status (VmRSS).
func processRSS(pid int) (int64, error) {
	if pid <= 0 {
		return 0, fmt.Errorf("no process")
	}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Bytes()
		if v, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			f := bytes.Fields(v)
			if len(f) < 1 {
				break
			}
			kb, err := strconv.ParseInt(string(f[0]), 10, 64)
			if err != nil {
				return 0, err
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("/proc/%d/status has no VmRSS", pid)
}
