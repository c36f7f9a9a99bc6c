package app

import (
	"os"
	"runtime/debug"
)

// applyMemoryLimit sets the Go runtime's soft memory limit to
// atrium.memory.limit, unless GOMEMLIMIT is set in the environment (the
// operator's setting wins) or the limit is 0. Close puts back the limit
// it replaced. With the default GOGC the heap grows to twice its live
// size between collections; under the limit the collector runs sooner
// and the scavenger returns freed pages to the operating system, so the
// resident size stays near the budget instead of the heap's high-water
// mark.
func (a *App) applyMemoryLimit() {
	limit := a.cfg.Atrium.Memory.Limit
	if limit <= 0 {
		return
	}
	if v, ok := os.LookupEnv("GOMEMLIMIT"); ok && v != "" {
		a.log.Info("memory limit from GOMEMLIMIT", "GOMEMLIMIT", v, "ignored", "atrium.memory.limit")
		return
	}
	prev := debug.SetMemoryLimit(limit)
	a.log.Info("memory limit", "bytes", limit)
	a.cleanup = append(a.cleanup, func() error {
		// Another App in the same process (tests) may have set its own
		// since: leave that one.
		if debug.SetMemoryLimit(-1) == limit {
			debug.SetMemoryLimit(prev)
		}
		return nil
	})
}
