package scaffolder

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/atrium-portal/atrium/internal/auth"
	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/scaffolder/tmpl"
	"github.com/atrium-portal/atrium/internal/secrets"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/plugin"
)

// Queue runs tasks durably: Enqueue schedules a task's run, which calls
// Service.Run on some worker (River in production).
type Queue interface {
	Enqueue(ctx context.Context, taskID string) error
}

// Params configure a Service.
type Params struct {
	Store    store.TaskStore
	Catalog  engine.Catalog
	Registry *Registry
	Tmpl     *tmpl.Engine
	// Box seals task secrets at rest.
	Box    *secrets.Box
	Logger *slog.Logger
	// WorkDir holds one workspace folder per running task.
	WorkDir string
	// StepTimeout bounds one step (default 30 minutes).
	StepTimeout time.Duration
	// Heartbeat is how often a running task reports (default 2s); a task
	// whose heartbeat is older than StaleAfter (default 30s) is resumed by
	// the janitor on another worker or after a restart.
	Heartbeat  time.Duration
	StaleAfter time.Duration
	// MaxSecretsBytes bounds the secrets of one task (default 64 KiB).
	MaxSecretsBytes int
	// Operations keeps the steps' long-running external work (nil: plugin
	// actions get no plugin.Operations).
	Operations Operations
}

// Operations is where steps keep long-running external work
// (*operations.Service implements it).
type Operations interface {
	// For returns the plugin.Operations of a step of a task.
	For(pluginID, taskID, stepID string) plugin.Operations
	// CancelTaskOperations asks a cancelled task's operations to cancel.
	CancelTaskOperations(ctx context.Context, taskID string) error
}

// Service creates, runs and reports on tasks.
type Service struct {
	p        Params
	queue    Queue
	runnerID string

	mu      sync.Mutex
	running map[string]context.CancelCauseFunc
	waiters map[string][]chan struct{}
}

// New returns a Service; SetQueue must be called before tasks are created.
func New(p Params) (*Service, error) {
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	if p.StepTimeout <= 0 {
		p.StepTimeout = 30 * time.Minute
	}
	if p.Heartbeat <= 0 {
		p.Heartbeat = 2 * time.Second
	}
	if p.StaleAfter <= 0 {
		p.StaleAfter = 30 * time.Second
	}
	if p.MaxSecretsBytes <= 0 {
		p.MaxSecretsBytes = 64 << 10
	}
	if p.Box == nil {
		return nil, fault.New(fault.Invalid, "scaffolder: a secrets box is required to seal task secrets")
	}
	if err := os.MkdirAll(p.WorkDir, 0o700); err != nil {
		return nil, fault.Wrap(fault.Internal, err, "scaffolder: create %s", p.WorkDir)
	}
	return &Service{p: p, runnerID: uuid.NewString(), running: map[string]context.CancelCauseFunc{}, waiters: map[string][]chan struct{}{}}, nil
}

// SetQueue sets the queue tasks are run through.
func (s *Service) SetQueue(q Queue) { s.queue = q }

// Registry returns the action registry.
func (s *Service) Registry() *Registry { return s.p.Registry }

// Template reads a Template entity from the catalog.
func (s *Service) Template(ctx context.Context, ref string) (*Template, error) {
	e, err := s.p.Catalog.EntityByRef(ctx, ref)
	if err != nil {
		return nil, err
	}
	return ParseTemplate(e)
}

// CreateParams are what POST /v2/tasks sends.
type CreateParams struct {
	TemplateRef string            `json:"templateRef"`
	Values      map[string]any    `json:"values"`
	Secrets     map[string]string `json:"secrets"`
}

// Create validates the values and queues a task.
func (s *Service) Create(ctx context.Context, p CreateParams) (string, error) {
	if p.TemplateRef == "" {
		return "", fault.New(fault.Invalid, "templateRef is required")
	}
	t, err := s.Template(ctx, p.TemplateRef)
	if err != nil {
		return "", err
	}
	p.Values = t.WithDefaults(p.Values)
	if err := t.Validate(p.Values); err != nil {
		return "", err
	}
	user := "anonymous"
	var ui *UserInfo
	if pr := auth.PrincipalFrom(ctx); pr != nil && pr.Ref != "" {
		user = pr.Ref
		ui = &UserInfo{Ref: pr.Ref}
		if e, err := s.p.Catalog.EntityByRef(ctx, pr.Ref); err == nil {
			if raw, err := json.Marshal(e); err == nil {
				_ = json.Unmarshal(raw, &ui.Entity)
			}
		}
	}
	spec := TaskSpec{
		APIVersion:   APIVersion,
		TemplateInfo: TemplateInfo{EntityRef: t.Ref, BaseURL: t.BaseURL},
		Parameters:   p.Values, Steps: t.Steps, Output: t.Output, User: ui,
	}
	return s.create(ctx, spec, user, p.Secrets)
}

func (s *Service) create(ctx context.Context, spec TaskSpec, user string, sec map[string]string) (string, error) {
	if s.queue == nil {
		return "", fault.New(fault.Unavailable, "the scaffolder's task queue is not running")
	}
	if spec.Parameters == nil {
		spec.Parameters = map[string]any{}
	}
	specJSON, err := json.Marshal(spec)
	if err != nil {
		return "", fault.Wrap(fault.Invalid, err, "task spec")
	}
	sealed, err := s.seal(sec, "")
	if err != nil {
		return "", err
	}
	id := uuid.NewString()
	state, _ := json.Marshal(TaskState{Steps: map[string]*StepState{}})
	if err := s.p.Store.TaskCreate(ctx, store.Task{
		ID: id, TemplateRef: spec.TemplateInfo.EntityRef, Status: StatusOpen, CreatedBy: user,
		CreatedAt: time.Now(), Spec: specJSON, State: state, Secrets: sealed,
	}); err != nil {
		return "", err
	}
	if err := s.queue.Enqueue(ctx, id); err != nil {
		return "", err
	}
	return id, nil
}

// seal encrypts secrets for the task (aad: the task id would be nicer,
// but the id is chosen after; the key id and nonce are per value).
func (s *Service) seal(sec map[string]string, _ string) (string, error) {
	if len(sec) == 0 {
		return "", nil
	}
	raw, _ := json.Marshal(sec)
	if len(raw) > s.p.MaxSecretsBytes {
		return "", fault.New(fault.Invalid, "secrets: %d bytes exceed the limit of %d", len(raw), s.p.MaxSecretsBytes)
	}
	return s.p.Box.Seal(raw, []byte("scaffolder-task-secrets"))
}

func (s *Service) open(sealed string) (map[string]string, error) {
	if sealed == "" {
		return map[string]string{}, nil
	}
	raw, err := s.p.Box.Open(sealed, []byte("scaffolder-task-secrets"))
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fault.Wrap(fault.Internal, err, "task secrets")
	}
	return out, nil
}

// Get returns a task without its secrets.
func (s *Service) Get(ctx context.Context, id string) (*SerializedTask, error) {
	t, err := s.p.Store.TaskGet(ctx, id)
	if err != nil {
		return nil, err
	}
	return serialize(t)
}

func serialize(t *store.Task) (*SerializedTask, error) {
	out := &SerializedTask{ID: t.ID, Status: t.Status, CreatedAt: t.CreatedAt, CreatedBy: t.CreatedBy}
	if err := json.Unmarshal(t.Spec, &out.Spec); err != nil {
		return nil, fault.Wrap(fault.Internal, err, "task %s spec", t.ID)
	}
	if err := json.Unmarshal(t.State, &out.State); err != nil {
		return nil, fault.Wrap(fault.Internal, err, "task %s state", t.ID)
	}
	if !t.LastHeartbeatAt.IsZero() {
		hb := t.LastHeartbeatAt
		out.LastHeartbeatAt = &hb
	}
	return out, nil
}

// ListParams filter GET /v2/tasks.
type ListParams = store.TaskListParams

// List returns a page of tasks and the total. Dry runs are not tasks
// anyone started, and are never listed.
func (s *Service) List(ctx context.Context, p ListParams) ([]*SerializedTask, int, error) {
	p.ExcludeTemplateRefPrefix = dryRunRefPrefix
	res, err := s.p.Store.TaskList(ctx, p)
	if err != nil {
		return nil, 0, err
	}
	out := make([]*SerializedTask, 0, len(res.Tasks))
	for i := range res.Tasks {
		st, err := serialize(&res.Tasks[i])
		if err != nil {
			return nil, 0, err
		}
		out = append(out, st)
	}
	return out, res.Total, nil
}

// Cancel asks a task to stop at its next safe point. An open task is
// cancelled at once.
func (s *Service) Cancel(ctx context.Context, id string) (string, error) {
	var cancelledNow bool
	t, _, err := s.p.Store.TaskUpdateAppend(ctx, id, func(t *store.Task) ([]store.TaskEvent, error) {
		if terminal(t.Status) {
			return nil, nil
		}
		t.CancelRequested = true
		if t.Status != StatusOpen {
			return nil, nil
		}
		// Never picked up: cancelled at once, with its completion.
		t.Status = StatusCancelled
		t.Secrets = ""
		cancelledNow = true
		return []store.TaskEvent{
			taskEvent(EventCancelled, EventBody{Message: "Run cancelled", Status: StatusCancelled}),
			taskEvent(EventCompletion, EventBody{Message: "Run completed with status: cancelled", Status: StatusCancelled}),
		}, nil
	})
	if err != nil {
		return "", err
	}
	if s.p.Operations != nil && t.CancelRequested {
		if err := s.p.Operations.CancelTaskOperations(ctx, id); err != nil {
			s.p.Logger.Warn("cancelling the task's operations", "task", id, "err", err)
		}
	}
	if cancelledNow {
		s.notify(id)
		s.removeWorkspace(id)
	}
	s.mu.Lock()
	if cancel, ok := s.running[id]; ok {
		cancel(errCancelled)
	}
	s.mu.Unlock()
	return t.Status, nil
}

// Retry re-queues a failed or cancelled task; it resumes from its first
// unfinished step, keeping the finished ones. New secrets may be given.
func (s *Service) Retry(ctx context.Context, id string, sec map[string]string) error {
	sealed, err := s.seal(sec, id)
	if err != nil {
		return err
	}
	_, err = s.p.Store.TaskUpdate(ctx, id, func(t *store.Task) error {
		if t.Status != StatusFailed && t.Status != StatusCancelled {
			return fault.New(fault.Conflict, "task %s is %s; only failed or cancelled tasks can be retried", id, t.Status)
		}
		var st TaskState
		if err := json.Unmarshal(t.State, &st); err != nil {
			return fault.Wrap(fault.Internal, err, "task state")
		}
		for _, step := range st.Steps {
			if step.Status != StatusCompleted && step.Status != StatusSkipped {
				step.Status, step.Error = "", ""
			}
		}
		st.Error = ""
		t.State, _ = json.Marshal(st)
		t.Status, t.CancelRequested, t.Runner = StatusOpen, false, ""
		t.LastHeartbeatAt = time.Time{}
		if sealed != "" {
			t.Secrets = sealed
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.event(ctx, id, EventLog, EventBody{Message: "Retrying from the first unfinished step", Status: StatusOpen})
	return s.queue.Enqueue(ctx, id)
}

// Events returns the events after an id. With wait, it blocks until at
// least one exists, ctx ends or wait passes.
func (s *Service) Events(ctx context.Context, id string, after int64, wait time.Duration) ([]TaskEvent, error) {
	deadline := time.Now().Add(wait)
	for {
		evs, err := s.p.Store.TaskEventList(ctx, id, after, 1000)
		if err != nil {
			return nil, err
		}
		if len(evs) > 0 || wait <= 0 || time.Now().After(deadline) {
			if len(evs) == 0 {
				if _, err := s.p.Store.TaskGet(ctx, id); err != nil {
					return nil, err
				}
			}
			out := make([]TaskEvent, len(evs))
			for i, e := range evs {
				out[i] = TaskEvent{ID: e.ID, TaskID: e.TaskID, Type: e.Type, Body: e.Body, CreatedAt: e.CreatedAt}
			}
			return out, nil
		}
		ch := s.wait(id)
		t := time.NewTimer(min(time.Until(deadline), time.Second))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-ch:
		case <-t.C:
		}
		t.Stop()
	}
}

// wait returns a channel closed at the task's next event in this process
// (other replicas' events are seen by polling).
func (s *Service) wait(id string) chan struct{} {
	ch := make(chan struct{})
	s.mu.Lock()
	s.waiters[id] = append(s.waiters[id], ch)
	s.mu.Unlock()
	return ch
}

func (s *Service) notify(id string) {
	s.mu.Lock()
	ws := s.waiters[id]
	delete(s.waiters, id)
	s.mu.Unlock()
	for _, ch := range ws {
		close(ch)
	}
}

// event appends a task event; failures are logged, never fatal to a run.
func (s *Service) event(ctx context.Context, id, typ string, body EventBody) {
	e := taskEvent(typ, body)
	e.TaskID = id
	if _, err := s.p.Store.TaskEventAppend(context.WithoutCancel(ctx), e); err != nil {
		s.p.Logger.Warn("scaffolder: append task event", "task", id, "error", err.Error())
	}
	s.notify(id)
}

// taskEvent is an event of type typ with body, for the store to append.
func taskEvent(typ string, body EventBody) store.TaskEvent {
	raw, err := json.Marshal(body)
	if err != nil {
		raw, _ = json.Marshal(EventBody{Message: body.Message})
	}
	return store.TaskEvent{Type: typ, Body: raw}
}

func (s *Service) workspace(id string) string { return filepath.Join(s.p.WorkDir, id) }

func (s *Service) removeWorkspace(id string) {
	if err := os.RemoveAll(s.workspace(id)); err != nil {
		s.p.Logger.Warn("scaffolder: remove workspace", "task", id, "error", err.Error())
	}
}
