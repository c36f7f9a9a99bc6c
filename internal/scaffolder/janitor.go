package scaffolder

import (
	"context"
	"os"
	"time"
)

// RunJanitor resumes tasks whose worker stopped (a crash, a restart, a
// replica gone): every interval it re-queues open or processing tasks
// without a heartbeat for StaleAfter. Run resumes them from the first
// unfinished step. It also removes workspaces of failed tasks older than
// a day.
func (s *Service) RunJanitor(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = s.p.StaleAfter / 2
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		s.sweep(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (s *Service) sweep(ctx context.Context) {
	// Processing tasks stop beating when their worker dies; open tasks wait
	// in the queue, so only very old ones (a lost job) are re-queued.
	ids, err := s.p.Store.TaskStale(ctx, []string{StatusProcessing}, time.Now().Add(-s.p.StaleAfter), 100)
	if err == nil {
		var open []string
		open, err = s.p.Store.TaskStale(ctx, []string{StatusOpen}, time.Now().Add(-20*s.p.StaleAfter), 100)
		ids = append(ids, open...)
	}
	if err != nil {
		if ctx.Err() == nil {
			s.p.Logger.Warn("scaffolder: find stale tasks", "error", err.Error())
		}
		return
	}
	for _, id := range ids {
		s.mu.Lock()
		_, mine := s.running[id]
		s.mu.Unlock()
		if mine || s.queue == nil {
			continue
		}
		if err := s.queue.Enqueue(ctx, id); err != nil {
			s.p.Logger.Warn("scaffolder: re-queue stale task", "task", id, "error", err.Error())
		}
	}
	entries, err := os.ReadDir(s.p.WorkDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || time.Since(info.ModTime()) < 24*time.Hour {
			continue
		}
		if t, err := s.p.Store.TaskGet(ctx, e.Name()); err == nil && terminal(t.Status) {
			s.removeWorkspace(e.Name())
		}
	}
}
