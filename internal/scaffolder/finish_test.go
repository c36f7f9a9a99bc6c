package scaffolder_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/atrium-portal/atrium/internal/scaffolder"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/store/testdb"
)

// TestFinishedTaskHasItsCompletion reads tasks while they finish (half
// run to the end, half are cancelled while still open) and checks that a
// reader who sees a final status also sees the completion event: the two
// are written together, so the task page never shows a finished task
// without its last log line.
func TestFinishedTaskHasItsCompletion(t *testing.T) {
	for name, open := range map[string]func(testing.TB) store.TaskStore{
		"sqlite":   func(t testing.TB) store.TaskStore { return testdb.SQLite(t) },
		"postgres": func(t testing.TB) store.TaskStore { return testdb.Postgres(t) },
	} {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			svc, q := newServiceOn(t, db, t.TempDir())
			q.hold = make(chan struct{})
			const tasks = 40
			q.done = make(chan string, tasks)
			ctx := context.Background()
			ids := make([]string, tasks)
			for i := range ids {
				id, err := svc.Create(ctx, scaffolder.CreateParams{TemplateRef: "template:default/quick"})
				if err != nil {
					t.Fatalf("Create: %v", err)
				}
				ids[i] = id
			}
			var (
				stop     atomic.Bool
				mu       sync.Mutex
				problems []string
				checked  atomic.Int64
				wg       sync.WaitGroup
			)
			for r := 0; r < 2; r++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for !stop.Load() {
						for _, id := range ids {
							if msg := checkCompletion(ctx, db, id); msg != "" {
								mu.Lock()
								problems = append(problems, msg)
								mu.Unlock()
							}
							checked.Add(1)
						}
					}
				}()
			}
			for i, id := range ids {
				if i%2 == 0 {
					if _, err := svc.Cancel(ctx, id); err != nil {
						t.Fatalf("Cancel: %v", err)
					}
				}
			}
			close(q.hold)
			for range ids {
				<-q.done
			}
			stop.Store(true)
			wg.Wait()
			for _, id := range ids {
				if msg := checkCompletion(ctx, db, id); msg != "" {
					problems = append(problems, msg)
				}
			}
			if len(problems) > 0 {
				t.Errorf("%d of %d reads saw a finished task without its completion, e.g. %s", len(problems), checked.Load(), problems[0])
			}
		})
	}
}

// checkCompletion reads a task's status and then its events; it returns
// what is wrong when the status is final but no completion event (with
// that status) is stored.
func checkCompletion(ctx context.Context, db store.TaskStore, id string) string {
	task, err := db.TaskGet(ctx, id)
	if err != nil {
		return fmt.Sprintf("task %s: %v", id, err)
	}
	switch task.Status {
	case scaffolder.StatusCompleted, scaffolder.StatusFailed, scaffolder.StatusCancelled:
	default:
		return ""
	}
	evs, err := db.TaskEventList(ctx, id, 0, 1000)
	if err != nil {
		return fmt.Sprintf("task %s events: %v", id, err)
	}
	for _, e := range evs {
		var body scaffolder.EventBody
		if e.Type == scaffolder.EventCompletion && json.Unmarshal(e.Body, &body) == nil && body.Status == task.Status {
			return ""
		}
	}
	return fmt.Sprintf("task %s is %s with %d events and no completion", id, task.Status, len(evs))
}
