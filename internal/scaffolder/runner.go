package scaffolder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/pluginhost/guard"
	"github.com/atrium-portal/atrium/internal/scaffolder/tmpl"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/tracing"
	"github.com/atrium-portal/atrium/plugin"
)

// errCancelled is the cause of a task's context when it is cancelled;
// actions see it through plugin.Abandoned.
var errCancelled = plugin.ErrTaskCancelled

// errInterrupted means the worker is shutting down: the task stays
// processing and resumes on the next start (or on another worker).
var errInterrupted = errors.New("task interrupted by shutdown")

// interrupted reports whether ctx ended for a reason other than a cancel
// request (a shutdown).
func interrupted(ctx context.Context) bool {
	return ctx.Err() != nil && !errors.Is(context.Cause(ctx), errCancelled)
}

// errBusy means another worker holds the task and is alive.
var errBusy = errors.New("task is running on another worker")

// Run runs a task from its first unfinished step to the end. It is what
// the queue's worker calls; it returns an error only when the task could
// not be run at all (the queue then retries), never for a failed step.
func (s *Service) Run(ctx context.Context, id string) error {
	s.mu.Lock()
	_, already := s.running[id]
	s.mu.Unlock()
	if already {
		return nil
	}
	recovered := false
	t, err := s.p.Store.TaskUpdate(ctx, id, func(t *store.Task) error {
		if terminal(t.Status) {
			return nil
		}
		now := time.Now()
		if t.Status == StatusProcessing && t.Runner != "" && t.Runner != s.runnerID && now.Sub(t.LastHeartbeatAt) < s.p.StaleAfter {
			return errBusy
		}
		recovered = t.Status == StatusProcessing
		t.Status, t.Runner, t.LastHeartbeatAt = StatusProcessing, s.runnerID, now
		return nil
	})
	if errors.Is(err, errBusy) {
		return nil
	}
	if err != nil {
		return err
	}
	if terminal(t.Status) {
		return nil
	}
	if recovered {
		s.event(ctx, id, EventRecovered, EventBody{Message: "Task recovered after its worker stopped; resuming from the first unfinished step"})
	}
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	s.mu.Lock()
	s.running[id] = cancel
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.running, id)
		s.mu.Unlock()
	}()
	if t.CancelRequested {
		cancel(errCancelled)
	}
	go s.heartbeat(runCtx, id, cancel)
	status, state, runErr := s.runSteps(runCtx, t)
	if errors.Is(runErr, errInterrupted) {
		_, err := s.p.Store.TaskUpdate(context.WithoutCancel(ctx), id, func(t *store.Task) error {
			t.Runner = ""
			t.State, _ = json.Marshal(state)
			return nil
		})
		if err != nil {
			return err
		}
		return nil
	}
	return s.finish(ctx, id, status, state, runErr)
}

// heartbeat reports the task alive and watches for cancel requests made
// on other replicas.
func (s *Service) heartbeat(ctx context.Context, id string, cancel context.CancelCauseFunc) {
	tick := time.NewTicker(s.p.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		t, err := s.p.Store.TaskUpdate(ctx, id, func(t *store.Task) error {
			if t.Runner == s.runnerID {
				t.LastHeartbeatAt = time.Now()
			}
			return nil
		})
		if err == nil && t.CancelRequested {
			cancel(errCancelled)
		}
	}
}

// runSteps runs the unfinished steps; it returns the final status.
func (s *Service) runSteps(ctx context.Context, t *store.Task) (string, *TaskState, error) {
	var spec TaskSpec
	state := &TaskState{}
	if err := json.Unmarshal(t.Spec, &spec); err != nil {
		return StatusFailed, state, fault.Wrap(fault.Internal, err, "task spec")
	}
	if err := json.Unmarshal(t.State, state); err != nil {
		return StatusFailed, state, fault.Wrap(fault.Internal, err, "task state")
	}
	if state.Steps == nil {
		state.Steps = map[string]*StepState{}
	}
	sec, err := s.open(t.Secrets)
	if err != nil {
		return StatusFailed, state, fmt.Errorf("the task's secrets cannot be decrypted: %w", err)
	}
	dir := s.workspace(t.ID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return StatusFailed, state, fault.Wrap(fault.Internal, err, "create the workspace")
	}
	ws, err := os.OpenRoot(dir)
	if err != nil {
		return StatusFailed, state, fault.Wrap(fault.Internal, err, "open the workspace")
	}
	defer ws.Close()
	r := &run{s: s, id: t.ID, spec: &spec, state: state, secrets: sec, ws: ws, wsPath: dir, redact: redactor(sec)}
	for i := range spec.Steps {
		step := &spec.Steps[i]
		if st := state.Steps[step.ID]; st != nil && (st.Status == StatusCompleted || st.Status == StatusSkipped) {
			continue
		}
		if interrupted(ctx) {
			return StatusProcessing, state, errInterrupted
		}
		if ctx.Err() != nil {
			return StatusCancelled, state, errCancelled
		}
		if err := r.step(ctx, step); err != nil {
			if interrupted(ctx) {
				return StatusProcessing, state, errInterrupted
			}
			if errors.Is(context.Cause(ctx), errCancelled) {
				return StatusCancelled, state, errCancelled
			}
			return StatusFailed, state, err
		}
	}
	out, err := s.p.Tmpl.RenderValue(ctx, map[string]any(spec.Output), r.data(nil))
	if err != nil {
		return StatusFailed, state, fmt.Errorf("output: %w", err)
	}
	state.Output, _ = out.(map[string]any)
	return StatusCompleted, state, nil
}

// finish records the end of a run: status and completion event together,
// secrets deleted, workspace removed (kept after a failure, for retry).
func (s *Service) finish(ctx context.Context, id, status string, state *TaskState, runErr error) error {
	ctx = context.WithoutCancel(ctx)
	if runErr != nil && status == StatusFailed {
		state.Error = runErr.Error()
	}
	body := EventBody{Message: "Run completed with status: " + status, Status: status}
	var evs []store.TaskEvent
	switch status {
	case StatusCompleted:
		body.Output = state.Output
	case StatusCancelled:
		evs = append(evs, taskEvent(EventCancelled, EventBody{Message: "Run cancelled", Status: StatusCancelled}))
	case StatusFailed:
		body.Error = &EventError{Name: "Error", Message: state.Error}
	}
	evs = append(evs, taskEvent(EventCompletion, body))
	// The status and the completion are one write: a reader who sees the
	// task finished also sees how it ended.
	_, _, err := s.p.Store.TaskUpdateAppend(ctx, id, func(t *store.Task) ([]store.TaskEvent, error) {
		t.Status, t.Runner = status, ""
		t.State, _ = json.Marshal(state)
		if status != StatusFailed {
			t.Secrets = ""
		}
		return evs, nil
	})
	if err != nil {
		return err
	}
	s.notify(id)
	if status != StatusFailed {
		s.removeWorkspace(id)
	}
	return nil
}

// run is one execution of a task's steps.
type run struct {
	s       *Service
	id      string
	spec    *TaskSpec
	state   *TaskState
	secrets map[string]string
	ws      *os.Root
	wsPath  string
	redact  func(string) string
}

// data is the templating context of a step.
func (r *run) data(each any) map[string]any {
	steps := map[string]any{}
	for id, st := range r.state.Steps {
		out := st.Output
		if out == nil {
			out = map[string]any{}
		}
		steps[id] = map[string]any{"output": out}
	}
	secrets := map[string]any{}
	for k, v := range r.secrets {
		secrets[k] = v
	}
	d := map[string]any{
		"parameters": r.spec.Parameters,
		"steps":      steps,
		"secrets":    secrets,
		"context":    map[string]any{"task": map[string]any{"id": r.id}},
	}
	if r.spec.User != nil {
		d["user"] = map[string]any{"ref": r.spec.User.Ref, "entity": r.spec.User.Entity}
	}
	if each != nil {
		d["each"] = each
	}
	return d
}

func (r *run) save(ctx context.Context) error {
	raw, err := json.Marshal(r.state)
	if err != nil {
		return fault.Wrap(fault.Internal, err, "task state")
	}
	_, err = r.s.p.Store.TaskUpdate(context.WithoutCancel(ctx), r.id, func(t *store.Task) error {
		t.State = raw
		t.LastHeartbeatAt = time.Now()
		return nil
	})
	return err
}

func (r *run) log(ctx context.Context, step *StepSpec, status, msg string) {
	r.s.event(ctx, r.id, EventLog, EventBody{Message: r.redact(msg), StepID: step.ID, Status: status})
}

// step runs one step and persists its state.
func (r *run) step(ctx context.Context, step *StepSpec) (err error) {
	now := time.Now()
	st := &StepState{Status: StatusProcessing, StartedAt: &now}
	r.state.Steps[step.ID] = st
	r.log(ctx, step, StatusProcessing, fmt.Sprintf("Beginning step %s", step.Name))
	defer func() {
		end := time.Now()
		st.EndedAt = &end
		if err != nil && interrupted(ctx) {
			// Left unfinished: the step runs again when the task resumes.
			st.Status, st.EndedAt = "", nil
			r.log(ctx, step, "", fmt.Sprintf("Step %s interrupted by a shutdown; it will run again", step.Name))
		} else if err != nil {
			st.Status = StatusFailed
			if errors.Is(context.Cause(ctx), errCancelled) {
				st.Status = StatusCancelled
			}
			st.Error = r.redact(err.Error())
			r.log(ctx, step, st.Status, fmt.Sprintf("Step %s %s: %s", step.Name, st.Status, st.Error))
		}
		if serr := r.save(ctx); serr != nil && err == nil {
			err = serr
		}
	}()
	if step.If != nil {
		v, err := r.s.p.Tmpl.RenderValue(ctx, step.If, r.data(nil))
		if err != nil {
			return fmt.Errorf("if: %w", err)
		}
		if !tmpl.Truthy(v) {
			st.Status = StatusSkipped
			r.log(ctx, step, StatusSkipped, fmt.Sprintf("Skipping step %s because its if condition was false", step.Name))
			return nil
		}
	}
	var items []any
	if step.Each != nil {
		v, err := r.s.p.Tmpl.RenderValue(ctx, step.Each, r.data(nil))
		if err != nil {
			return fmt.Errorf("each: %w", err)
		}
		switch x := v.(type) {
		case []any:
			for i, val := range x {
				items = append(items, map[string]any{"key": i, "value": val})
			}
		case map[string]any:
			for k, val := range x {
				items = append(items, map[string]any{"key": k, "value": val})
			}
		default:
			return fmt.Errorf("each: must be a list or an object, got %T", v)
		}
	}
	action, ok := r.s.p.Registry.Get(step.Action)
	if !ok {
		return fault.New(fault.Invalid, "unknown action %q", step.Action)
	}
	runOnce := func(each any) (map[string]any, error) {
		in, err := r.s.p.Tmpl.RenderValue(ctx, map[string]any(step.Input), r.data(each))
		if err != nil {
			return nil, fmt.Errorf("input: %w", err)
		}
		input, _ := in.(map[string]any)
		if input == nil {
			input = map[string]any{}
		}
		if err := r.s.p.Registry.validateInput(step.Action, input); err != nil {
			return nil, fmt.Errorf("input of %s: %w", step.Action, err)
		}
		out := map[string]any{}
		sctx, cancel := context.WithTimeout(ctx, r.s.p.StepTimeout)
		defer cancel()
		ac := ActionContext{
			Input: input, Workspace: r.ws, WorkspacePath: r.wsPath, Secrets: r.secrets,
			Logger:          slog.New(&eventHandler{emit: func(c context.Context, b EventBody) { r.s.event(c, r.id, EventLog, b) }, stepID: step.ID, redact: r.redact}),
			Output:          func(name string, v any) { out[name] = jsonValue(v) },
			TemplateBaseURL: r.spec.TemplateInfo.BaseURL, TaskID: r.id,
			DryRun: r.spec.DryRun, StepID: step.ID,
		}
		if !r.spec.DryRun {
			ac.Operations = r.s.p.Operations
		}
		if r.spec.User != nil {
			ac.User = r.spec.User.Ref
		}
		sctx, span := tracing.StartSpan(sctx, "scaffolder.step "+step.Action,
			attribute.String("atrium.task_id", r.id), attribute.String("atrium.step_id", step.ID))
		// The action runs on the task's worker, outside any HTTP request: a
		// panic in it (a built-in plugin's bug) fails the step, with the
		// plugin named in the step's error and the stack in the log.
		err = guard.Call(r.s.p.Logger, actionPlugin(action), "action "+step.Action+": Run", func() error {
			return action.Run(sctx, ac)
		})
		tracing.End(span, err)
		if err != nil {
			if sctx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
				return nil, fmt.Errorf("step timed out after %s", r.s.p.StepTimeout)
			}
			return nil, err
		}
		return out, nil
	}
	if step.Each == nil {
		out, err := runOnce(nil)
		if err != nil {
			return err
		}
		st.Output = out
	} else {
		// As in Backstage, each output of an each-step is the list of
		// the iterations' values.
		st.Output = map[string]any{}
		for _, item := range items {
			out, err := runOnce(item)
			if err != nil {
				return err
			}
			for k, v := range out {
				list, _ := st.Output[k].([]any)
				st.Output[k] = append(list, v)
			}
		}
	}
	st.Status = StatusCompleted
	r.log(ctx, step, StatusCompleted, fmt.Sprintf("Finished step %s", step.Name))
	return nil
}

// jsonValue normalises an action output to plain JSON values, so that it
// templates the same before and after being persisted.
func jsonValue(v any) any {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	var out any
	_ = json.Unmarshal(raw, &out)
	return out
}
