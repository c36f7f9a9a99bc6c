package app

import (
	"sync"
	"time"
)

// loading returns the readiness check's "still loading" test: true until
// this process's first load of the catalog has finished (the engine's
// Ready; at once on an api replica, after a short wait on a replica that
// follows another's processing) or atrium.limits.readinessMaxWait has
// passed since start, whichever comes first. It returns nil when the wait
// is 0: readiness then means only that the database answers.
func (a *App) loading(start time.Time) func() bool {
	wait := a.cfg.Atrium.Limits.ReadinessMaxWait
	if wait <= 0 {
		return nil
	}
	var gaveUp sync.Once
	return func() bool {
		select {
		case <-a.engine.Ready():
			return false
		default:
		}
		if time.Since(start) < wait {
			return true
		}
		gaveUp.Do(func() {
			a.log.Warn("the first load of the catalog is still running after atrium.limits.readinessMaxWait; reporting ready anyway, the catalog may be partial",
				"readinessMaxWait", wait.String())
		})
		return false
	}
}
