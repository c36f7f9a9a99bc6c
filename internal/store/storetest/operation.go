package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
)

// operationTests are the operation store's conformance tests, run by Run.
var operationTests = []struct {
	name string
	fn   func(t *testing.T, d store.Driver)
}{
	{"OperationCreateGet", testOperationCreateGet},
	{"OperationTransitions", testOperationTransitions},
	{"OperationList", testOperationList},
}

func newOperation(t testing.TB, d store.Driver, id, key, task, system, state string, at time.Time) store.Operation {
	t.Helper()
	o := store.Operation{
		ID: id, Key: key, TaskID: task, StepID: "step", PluginID: "awx", System: system, Kind: "job",
		Token: `{"jobId":7}`, State: state, CreatedAt: at, UpdatedAt: at,
	}
	if err := d.OperationCreate(context.Background(), o); err != nil {
		t.Fatalf("OperationCreate(%s): %v", id, err)
	}
	return o
}

func testOperationCreateGet(t *testing.T, d store.Driver) {
	ctx := context.Background()
	o := newOperation(t, d, "op1", "task1/step/job", "task1", "awx:demo", store.OperationPending, taskEpoch)
	got, err := d.OperationGet(ctx, "op1")
	if err != nil {
		t.Fatalf("OperationGet: %v", err)
	}
	if got.Key != o.Key || got.TaskID != "task1" || got.System != "awx:demo" || got.Token != o.Token || got.State != store.OperationPending || !got.CreatedAt.Equal(taskEpoch) {
		t.Errorf("OperationGet: got %+v, want %+v", got, o)
	}
	if err := d.OperationCreate(ctx, o); fault.KindOf(err) != fault.Conflict {
		t.Errorf("second create: got %v, want a conflict", err)
	}
	if _, err := d.OperationGet(ctx, "nope"); fault.KindOf(err) != fault.NotFound {
		t.Errorf("OperationGet(nope): got %v, want not found", err)
	}
	// The newest operation of a key wins (a retried step starts anew).
	newOperation(t, d, "op2", "task1/step/job", "task1", "awx:demo", store.OperationPending, taskEpoch.Add(time.Minute))
	byKey, err := d.OperationGetByKey(ctx, "task1/step/job")
	if err != nil || byKey.ID != "op2" {
		t.Errorf("OperationGetByKey: got %+v, %v, want op2", byKey, err)
	}
	if _, err := d.OperationGetByKey(ctx, "other"); fault.KindOf(err) != fault.NotFound {
		t.Errorf("OperationGetByKey(other): got %v, want not found", err)
	}
	bad := o
	bad.ID, bad.State = "op3", store.OperationSucceeded+"x"
	if err := d.OperationCreate(ctx, bad); fault.KindOf(err) != fault.Invalid {
		t.Errorf("create with an unknown state: got %v, want invalid", err)
	}
}

func testOperationTransitions(t *testing.T, d store.Driver) {
	ctx := context.Background()
	newOperation(t, d, "op1", "k1", "task1", "awx:demo", store.OperationPending, taskEpoch)
	next := taskEpoch.Add(time.Hour)
	steps := []struct {
		to      string
		wantErr fault.Kind
	}{
		{store.OperationRunning, ""},
		{store.OperationWaitingRetry, ""},
		{store.OperationPending, fault.Conflict},
		{store.OperationRunning, ""},
		{store.OperationSucceeded, ""},
		{store.OperationRunning, fault.Conflict},
		{store.OperationFailed, fault.Conflict},
		{store.OperationCancelled, fault.Conflict},
		{"bogus", fault.Invalid},
	}
	for i, s := range steps {
		got, err := d.OperationUpdate(ctx, "op1", func(o *store.Operation) error {
			o.State = s.to
			o.Attempts = i
			o.NextAttemptAt = next
			o.ErrorSystem, o.ErrorAnswer, o.ErrorAction = "AWX (awx:demo)", "503 Service Unavailable", "wait"
			o.ExternalID, o.Token = fmt.Sprint(i), fmt.Sprintf(`{"step":%d}`, i)
			return nil
		})
		if fault.KindOf(err) != s.wantErr && !(s.wantErr == "" && err == nil) {
			t.Fatalf("step %d → %s: got %v, want %q", i, s.to, err, s.wantErr)
		}
		if err == nil && (got.State != s.to || got.Attempts != i || !got.NextAttemptAt.Equal(next) || got.ExternalID != fmt.Sprint(i)) {
			t.Errorf("step %d: got %+v", i, got)
		}
	}
	stored, err := d.OperationGet(ctx, "op1")
	if err != nil || stored.State != store.OperationSucceeded || stored.Token != `{"step":4}` || stored.ErrorAnswer != "503 Service Unavailable" {
		t.Errorf("after a refused transition: got %+v, %v, want the succeeded operation unchanged", stored, err)
	}
	boom := errors.New("boom")
	if _, err := d.OperationUpdate(ctx, "op1", func(*store.Operation) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("fn error: got %v, want boom", err)
	}
	if _, err := d.OperationUpdate(ctx, "nope", func(*store.Operation) error { return nil }); fault.KindOf(err) != fault.NotFound {
		t.Errorf("update of a missing operation: got %v, want not found", err)
	}
}

func testOperationList(t *testing.T, d store.Driver) {
	ctx := context.Background()
	for i := range 5 {
		state := store.OperationRunning
		if i%2 == 0 {
			state = store.OperationPending
		}
		system := "awx:demo"
		if i >= 3 {
			system = "tfc:main"
		}
		newOperation(t, d, fmt.Sprintf("op%d", i), fmt.Sprintf("k%d", i), fmt.Sprintf("task%d", i%2), system, state, taskEpoch.Add(time.Duration(i)*time.Minute))
	}
	if _, err := d.OperationUpdate(ctx, "op4", func(o *store.Operation) error { o.EntityRef = "component:default/a"; return nil }); err != nil {
		t.Fatal(err)
	}
	ids := func(r store.OperationListResult) []string {
		var out []string
		for _, o := range r.Operations {
			out = append(out, o.ID)
		}
		return out
	}
	tests := []struct {
		name  string
		p     store.OperationListParams
		want  []string
		total int
	}{
		{"all newest first", store.OperationListParams{}, []string{"op4", "op3", "op2", "op1", "op0"}, 5},
		{"paged", store.OperationListParams{Limit: 2, Offset: 1}, []string{"op3", "op2"}, 5},
		{"state", store.OperationListParams{State: []string{store.OperationRunning}}, []string{"op3", "op1"}, 2},
		{"system", store.OperationListParams{System: "tfc:main"}, []string{"op4", "op3"}, 2},
		{"task", store.OperationListParams{TaskID: "task0", State: []string{store.OperationPending}}, []string{"op4", "op2", "op0"}, 3},
		{"entity", store.OperationListParams{EntityRef: "component:default/a"}, []string{"op4"}, 1},
	}
	for _, tt := range tests {
		got, err := d.OperationList(ctx, tt.p)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if fmt.Sprint(ids(got)) != fmt.Sprint(tt.want) || got.Total != tt.total {
			t.Errorf("%s: got %v (total %d), want %v (total %d)", tt.name, ids(got), got.Total, tt.want, tt.total)
		}
	}
}
