package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
)

// taskTests are the scaffolder task store's conformance tests, run by Run.
var taskTests = []struct {
	name string
	fn   func(t *testing.T, d store.Driver)
}{
	{"TaskCreateGet", testTaskCreateGet},
	{"TaskList", testTaskList},
	{"TaskUpdate", testTaskUpdate},
	{"TaskConcurrentUpdates", testTaskConcurrentUpdates},
	{"TaskUpdateAppend", testTaskUpdateAppend},
	{"TaskUpdateAppendAtomic", testTaskUpdateAppendAtomic},
	{"TaskStale", testTaskStale},
	{"TaskEvents", testTaskEvents},
}

var taskEpoch = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func newTask(t testing.TB, d store.Driver, id, by, status string, at time.Time) store.Task {
	t.Helper()
	task := store.Task{
		ID: id, TemplateRef: "template:default/go-service", Status: status, CreatedBy: by, CreatedAt: at,
		Spec: []byte(`{"steps":[]}`), State: []byte(`{}`), Secrets: "v1:k:sealed",
	}
	if err := d.TaskCreate(context.Background(), task); err != nil {
		t.Fatalf("TaskCreate(%s): %v", id, err)
	}
	return task
}

func testTaskCreateGet(t *testing.T, d store.Driver) {
	ctx := context.Background()
	want := newTask(t, d, "t1", "user:default/jane", "open", taskEpoch)
	got, err := d.TaskGet(ctx, "t1")
	if err != nil {
		t.Fatalf("TaskGet: %v", err)
	}
	if got.ID != want.ID || got.TemplateRef != want.TemplateRef || got.Status != "open" || got.CreatedBy != want.CreatedBy ||
		!got.CreatedAt.Equal(taskEpoch) || !got.LastHeartbeatAt.IsZero() || string(got.Spec) != string(want.Spec) ||
		string(got.State) != "{}" || got.Secrets != want.Secrets || got.CancelRequested || got.Runner != "" {
		t.Errorf("got %+v, want %+v", got, want)
	}
	wantKind(t, d.TaskCreate(ctx, want), fault.Conflict)
	_, err = d.TaskGet(ctx, "missing")
	wantKind(t, err, fault.NotFound)
}

func testTaskList(t *testing.T, d store.Driver) {
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		by := "user:default/jane"
		status := "completed"
		if i%2 == 1 {
			by, status = "user:default/joe", "failed"
		}
		newTask(t, d, fmt.Sprintf("t%d", i), by, status, taskEpoch.Add(time.Duration(i)*time.Minute))
	}
	ids := func(ts []store.Task) []string {
		out := make([]string, len(ts))
		for i, x := range ts {
			out[i] = x.ID
		}
		return out
	}
	tests := []struct {
		name      string
		p         store.TaskListParams
		want      []string
		wantTotal int
	}{
		{"all newest first", store.TaskListParams{}, []string{"t4", "t3", "t2", "t1", "t0"}, 5},
		{"ascending", store.TaskListParams{Ascending: true}, []string{"t0", "t1", "t2", "t3", "t4"}, 5},
		{"creator", store.TaskListParams{CreatedBy: []string{"user:default/joe"}}, []string{"t3", "t1"}, 2},
		{"status", store.TaskListParams{Status: []string{"completed"}}, []string{"t4", "t2", "t0"}, 3},
		{"two statuses", store.TaskListParams{Status: []string{"completed", "failed"}, Limit: 2}, []string{"t4", "t3"}, 5},
		{"page", store.TaskListParams{Limit: 2, Offset: 2}, []string{"t2", "t1"}, 5},
		{"template", store.TaskListParams{TemplateRef: "template:default/other"}, []string{}, 0},
		{"excluded prefix", store.TaskListParams{ExcludeTemplateRefPrefix: "template:default/go"}, []string{}, 0},
		{"other prefix", store.TaskListParams{ExcludeTemplateRefPrefix: "dry-run:", Status: []string{"failed"}}, []string{"t3", "t1"}, 2},
	}
	for _, tt := range tests {
		res, err := d.TaskList(ctx, tt.p)
		if err != nil {
			t.Fatalf("%s: TaskList: %v", tt.name, err)
		}
		eq(t, tt.name, ids(res.Tasks), tt.want)
		if res.Total != tt.wantTotal {
			t.Errorf("%s: total: got %d, want %d", tt.name, res.Total, tt.wantTotal)
		}
	}
}

func testTaskUpdate(t *testing.T, d store.Driver) {
	ctx := context.Background()
	newTask(t, d, "t1", "user:default/jane", "open", taskEpoch)
	beat := taskEpoch.Add(time.Minute)
	got, err := d.TaskUpdate(ctx, "t1", func(task *store.Task) error {
		task.Status, task.Runner, task.LastHeartbeatAt = "processing", "w1", beat
		task.State, task.Secrets, task.CancelRequested = []byte(`{"steps":{"a":"completed"}}`), "", true
		return nil
	})
	if err != nil {
		t.Fatalf("TaskUpdate: %v", err)
	}
	read, err := d.TaskGet(ctx, "t1")
	if err != nil {
		t.Fatalf("TaskGet: %v", err)
	}
	for _, x := range []*store.Task{got, read} {
		if x.Status != "processing" || x.Runner != "w1" || !x.LastHeartbeatAt.Equal(beat) || !x.CancelRequested ||
			x.Secrets != "" || string(x.State) != `{"steps":{"a":"completed"}}` {
			t.Errorf("after update: got %+v", x)
		}
	}
	refuse := errors.New("refused")
	if _, err := d.TaskUpdate(ctx, "t1", func(task *store.Task) error { task.Status = "failed"; return refuse }); !errors.Is(err, refuse) {
		t.Fatalf("update whose function fails: got %v, want %v", err, refuse)
	}
	if read, _ := d.TaskGet(ctx, "t1"); read.Status != "processing" {
		t.Errorf("aborted update was written: status %q", read.Status)
	}
	_, err = d.TaskUpdate(ctx, "missing", func(*store.Task) error { return nil })
	wantKind(t, err, fault.NotFound)
}

func testTaskUpdateAppend(t *testing.T, d store.Driver) {
	ctx := context.Background()
	newTask(t, d, "t1", "u", "processing", taskEpoch)
	before, err := d.TaskEventAppend(ctx, store.TaskEvent{TaskID: "t1", Type: "log", Body: []byte(`{"message":"step"}`)})
	if err != nil {
		t.Fatalf("TaskEventAppend: %v", err)
	}
	got, evs, err := d.TaskUpdateAppend(ctx, "t1", func(task *store.Task) ([]store.TaskEvent, error) {
		task.Status, task.Secrets = "cancelled", ""
		return []store.TaskEvent{
			{Type: "cancelled", Body: []byte(`{"message":"Run cancelled"}`), CreatedAt: taskEpoch},
			{TaskID: "t1", Type: "completion", Body: []byte(`{"status":"cancelled"}`), CreatedAt: taskEpoch},
		}, nil
	})
	if err != nil {
		t.Fatalf("TaskUpdateAppend: %v", err)
	}
	if got.Status != "cancelled" || got.Secrets != "" {
		t.Errorf("returned task: got %+v", got)
	}
	if len(evs) != 2 || evs[0].ID <= before.ID || evs[1].ID <= evs[0].ID || evs[0].TaskID != "t1" || evs[1].TaskID != "t1" {
		t.Fatalf("returned events: got %+v, want two of t1 with ids increasing after %d", evs, before.ID)
	}
	listed, err := d.TaskEventList(ctx, "t1", before.ID, 10)
	if err != nil {
		t.Fatalf("TaskEventList: %v", err)
	}
	var types []string
	for _, e := range listed {
		types = append(types, e.Type)
		if !e.CreatedAt.Equal(taskEpoch) {
			t.Errorf("event %d: created %v, want %v", e.ID, e.CreatedAt, taskEpoch)
		}
	}
	eq(t, "events appended with the update", types, []string{"cancelled", "completion"})
	if read, _ := d.TaskGet(ctx, "t1"); read.Status != "cancelled" {
		t.Errorf("status after the update: got %q, want cancelled", read.Status)
	}

	// A failing function, or an event of another task, writes nothing.
	refuse := errors.New("refused")
	_, _, err = d.TaskUpdateAppend(ctx, "t1", func(task *store.Task) ([]store.TaskEvent, error) {
		task.Status = "failed"
		return []store.TaskEvent{{Type: "log", Body: []byte(`{}`)}}, refuse
	})
	if !errors.Is(err, refuse) {
		t.Fatalf("update whose function fails: got %v, want %v", err, refuse)
	}
	newTask(t, d, "t2", "u", "open", taskEpoch)
	_, _, err = d.TaskUpdateAppend(ctx, "t1", func(task *store.Task) ([]store.TaskEvent, error) {
		task.Status = "failed"
		return []store.TaskEvent{{Type: "log", Body: []byte(`{}`)}, {TaskID: "t2", Type: "log", Body: []byte(`{}`)}}, nil
	})
	wantKind(t, err, fault.Invalid)
	if read, _ := d.TaskGet(ctx, "t1"); read.Status != "cancelled" {
		t.Errorf("aborted update was written: status %q", read.Status)
	}
	for _, id := range []string{"t1", "t2"} {
		if evs, _ := d.TaskEventList(ctx, id, evs[1].ID, 10); len(evs) != 0 {
			t.Errorf("aborted update appended events to %s: %+v", id, evs)
		}
	}
	_, _, err = d.TaskUpdateAppend(ctx, "missing", func(*store.Task) ([]store.TaskEvent, error) { return nil, nil })
	wantKind(t, err, fault.NotFound)
}

// testTaskUpdateAppendAtomic finishes tasks with their completion event
// while readers poll them: a reader who sees a task finished must find
// its completion (read after the status).
func testTaskUpdateAppendAtomic(t *testing.T, d store.Driver) {
	ctx := context.Background()
	const n = 30
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("t%02d", i)
		newTask(t, d, ids[i], "u", "processing", taskEpoch)
	}
	var stop sync.WaitGroup
	done := make(chan struct{})
	problems := make(chan string, 2*n)
	for r := 0; r < 2; r++ {
		stop.Add(1)
		go func() {
			defer stop.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				for _, id := range ids {
					task, err := d.TaskGet(ctx, id)
					if err != nil || task.Status != "completed" {
						continue
					}
					evs, err := d.TaskEventList(ctx, id, 0, 10)
					if err == nil && (len(evs) == 0 || evs[len(evs)-1].Type != "completion") {
						select {
						case problems <- fmt.Sprintf("%s completed with events %+v", id, evs):
						default:
						}
					}
				}
			}
		}()
	}
	// Concurrent writers, as runners finishing tasks at once are: a
	// two-write update lets another writer in between its writes.
	var writers sync.WaitGroup
	for _, id := range ids {
		writers.Add(1)
		go func() {
			defer writers.Done()
			_, _, err := d.TaskUpdateAppend(ctx, id, func(task *store.Task) ([]store.TaskEvent, error) {
				task.Status = "completed"
				return []store.TaskEvent{{Type: "completion", Body: []byte(`{"status":"completed"}`)}}, nil
			})
			if err != nil {
				t.Errorf("TaskUpdateAppend(%s): %v", id, err)
			}
		}()
	}
	writers.Wait()
	close(done)
	stop.Wait()
	close(problems)
	for p := range problems {
		t.Errorf("status without its event: %s", p)
	}
}

// testTaskConcurrentUpdates checks that read-modify-write updates do not
// lose each other's changes.
func testTaskConcurrentUpdates(t *testing.T, d store.Driver) {
	ctx := context.Background()
	newTask(t, d, "t1", "user:default/jane", "open", taskEpoch)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := d.TaskUpdate(ctx, "t1", func(task *store.Task) error {
				task.State = append(task.State[:len(task.State)-1], []byte("x}")...)
				return nil
			})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("TaskUpdate: %v", err)
		}
	}
	got, _ := d.TaskGet(ctx, "t1")
	if len(got.State) != 2+n {
		t.Errorf("state after %d concurrent appends: got %q (%d bytes), want %d bytes", n, got.State, len(got.State), 2+n)
	}
}

func testTaskStale(t *testing.T, d store.Driver) {
	ctx := context.Background()
	newTask(t, d, "old-open", "u", "open", taskEpoch)
	newTask(t, d, "new-open", "u", "open", taskEpoch.Add(10*time.Minute))
	newTask(t, d, "beating", "u", "processing", taskEpoch)
	newTask(t, d, "silent", "u", "processing", taskEpoch.Add(time.Minute))
	newTask(t, d, "done", "u", "completed", taskEpoch)
	if _, err := d.TaskUpdate(ctx, "beating", func(task *store.Task) error { task.LastHeartbeatAt = taskEpoch.Add(9 * time.Minute); return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := d.TaskUpdate(ctx, "silent", func(task *store.Task) error { task.LastHeartbeatAt = taskEpoch.Add(2 * time.Minute); return nil }); err != nil {
		t.Fatal(err)
	}
	got, err := d.TaskStale(ctx, []string{"open", "processing"}, taskEpoch.Add(5*time.Minute), 10)
	if err != nil {
		t.Fatalf("TaskStale: %v", err)
	}
	eq(t, "stale tasks", got, []string{"old-open", "silent"})
	got, _ = d.TaskStale(ctx, []string{"open", "processing"}, taskEpoch.Add(5*time.Minute), 1)
	eq(t, "stale tasks, limit 1", got, []string{"old-open"})
}

func testTaskEvents(t *testing.T, d store.Driver) {
	ctx := context.Background()
	newTask(t, d, "t1", "u", "open", taskEpoch)
	newTask(t, d, "t2", "u", "open", taskEpoch)
	var ids []int64
	for i := 0; i < 4; i++ {
		task := "t1"
		if i == 2 {
			task = "t2"
		}
		e, err := d.TaskEventAppend(ctx, store.TaskEvent{TaskID: task, Type: "log", Body: []byte(fmt.Sprintf(`{"message":"m%d"}`, i)), CreatedAt: taskEpoch})
		if err != nil {
			t.Fatalf("TaskEventAppend: %v", err)
		}
		if len(ids) > 0 && e.ID <= ids[len(ids)-1] {
			t.Errorf("event ids must increase: got %d after %d", e.ID, ids[len(ids)-1])
		}
		ids = append(ids, e.ID)
	}
	evs, err := d.TaskEventList(ctx, "t1", 0, 10)
	if err != nil {
		t.Fatalf("TaskEventList: %v", err)
	}
	var bodies []string
	for _, e := range evs {
		bodies = append(bodies, string(e.Body))
		if e.TaskID != "t1" || e.Type != "log" || !e.CreatedAt.Equal(taskEpoch) {
			t.Errorf("event: got %+v", e)
		}
	}
	eq(t, "t1 events", bodies, []string{`{"message":"m0"}`, `{"message":"m1"}`, `{"message":"m3"}`})
	evs, _ = d.TaskEventList(ctx, "t1", ids[1], 10)
	if len(evs) != 1 || evs[0].ID != ids[3] {
		t.Errorf("events after %d: got %v, want the one with id %d", ids[1], evs, ids[3])
	}
	evs, _ = d.TaskEventList(ctx, "t1", 0, 2)
	if len(evs) != 2 {
		t.Errorf("limit 2: got %d events", len(evs))
	}
	_, err = d.TaskEventAppend(ctx, store.TaskEvent{TaskID: "missing", Type: "log", Body: []byte(`{}`)})
	wantKind(t, err, fault.NotFound)
}
