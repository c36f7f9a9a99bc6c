package plugin

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"time"
)

// OperationState is where an operation is in its life cycle:
// pending → running → succeeded | failed | cancelled, with waiting-retry
// between tries of a transient failure. A final state is never left.
type OperationState string

// The operation states.
const (
	OperationPending      OperationState = "pending"
	OperationRunning      OperationState = "running"
	OperationWaitingRetry OperationState = "waiting-retry"
	OperationSucceeded    OperationState = "succeeded"
	OperationFailed       OperationState = "failed"
	OperationCancelled    OperationState = "cancelled"
)

// Final reports whether the state is one an operation never leaves.
func (s OperationState) Final() bool {
	return s == OperationSucceeded || s == OperationFailed || s == OperationCancelled
}

// Operation is long-running work in an external system (a merge request,
// a job, a run, a deployment, an operator install) as Atrium keeps it in
// its database: any replica can resume it after a restart, people see it
// on the Operations page, and cancelling its task cancels it.
type Operation struct {
	ID     string `json:"id"`
	TaskID string `json:"taskId,omitempty"`
	StepID string `json:"stepId,omitempty"`
	Plugin string `json:"plugin"`
	// System is the external system instance ("awx:demo", "gitlab:main").
	System string `json:"system"`
	// Kind is what the work is ("job", "run", "deployment", …).
	Kind        string `json:"kind"`
	EntityRef   string `json:"entityRef,omitempty"`
	ExternalID  string `json:"externalId,omitempty"`
	ExternalURL string `json:"externalUrl,omitempty"`
	// Token is the resume token: whatever JSON the action needs to follow
	// the work again (a job id, a poller's resume token).
	Token         json.RawMessage `json:"token,omitempty"`
	State         OperationState  `json:"state"`
	Attempts      int             `json:"attempts"`
	NextAttemptAt time.Time       `json:"nextAttemptAt,omitzero"`
	LastError     *OperationError `json:"lastError,omitempty"`
	// CancelRequested is set when a person cancelled the operation or its
	// task: the action cancels the work remotely and ends.
	CancelRequested bool      `json:"cancelRequested,omitempty"`
	CreatedAt       time.Time `json:"createdAt"`
	UpdatedAt       time.Time `json:"updatedAt"`
}

// Decode reads the operation's resume token into v and reports whether
// there was one.
func (o Operation) Decode(v any) bool {
	return len(o.Token) > 0 && json.Unmarshal(o.Token, v) == nil
}

// OperationError says which system failed, what it answered and what to
// do about it.
type OperationError struct {
	System string `json:"system"`
	Answer string `json:"answer"`
	Action string `json:"action,omitempty"`
}

func (e *OperationError) Error() string {
	msg := e.System + " answered: " + e.Answer
	if e.Action != "" {
		msg += "; " + strings.TrimSuffix(e.Action, ".")
	}
	return msg
}

// OperationStart describes the operation an action begins.
type OperationStart struct {
	// Name tells a step's operations apart; Kind when empty. Outside a
	// task it must identify the work across restarts.
	Name      string `json:"name,omitempty"`
	System    string `json:"system"`
	Kind      string `json:"kind"`
	EntityRef string `json:"entityRef,omitempty"`
}

// OperationUpdate changes an operation; zero fields keep their value.
type OperationUpdate struct {
	State       OperationState  `json:"state,omitempty"`
	ExternalID  string          `json:"externalId,omitempty"`
	ExternalURL string          `json:"externalUrl,omitempty"`
	Token       json.RawMessage `json:"token,omitempty"`
	// Error is recorded as the operation's last error.
	Error *OperationError `json:"error,omitempty"`
	// Attempts and NextAttemptAt record a transient failure's retry.
	Attempts      int       `json:"attempts,omitempty"`
	NextAttemptAt time.Time `json:"nextAttemptAt,omitzero"`
}

// Operations keeps an action's long-running work in Atrium's database.
// Atrium hands one to every action run (ActionRequest.Operations), bound
// to the task, the step and the plugin, in-process and over gRPC alike;
// plugintest offers one for tests.
//
// The pattern: Begin at the start of the step. When it reports resumed,
// the step ran before (Atrium restarted, maybe on another replica): follow
// the work named by the operation's token instead of starting it again.
// Otherwise start the work, Update the operation with its token and state
// running, follow it, and end with a final state.
type Operations interface {
	// Begin returns the step's operation named s.Name: the existing one
	// unless it failed or was cancelled (resumed is then true), or a new
	// pending one.
	Begin(ctx context.Context, s OperationStart) (op Operation, resumed bool, err error)
	// Update changes an operation of this step. A change out of a final
	// state is refused (ErrConflict).
	Update(ctx context.Context, id string, u OperationUpdate) (Operation, error)
	// Get returns an operation of this step, with CancelRequested current.
	Get(ctx context.Context, id string) (Operation, error)
}

// StepOperation is the one operation an action keeps for its step, over
// Req.Operations: Resume at the start, Save once the work is started (and
// whenever its token changes), End when the step ends. Without Operations
// (a dry run, or a host that predates operations) it keeps nothing.
type StepOperation struct {
	Req   ActionRequest
	Start OperationStart
}

func (s StepOperation) begin(ctx context.Context) (Operation, bool, bool) {
	if s.Req.Operations == nil || s.Req.TaskID == "" || s.Req.DryRun {
		return Operation{}, false, false
	}
	op, resumed, err := s.Req.Operations.Begin(ctx, s.Start)
	return op, resumed, err == nil
}

// Resume reads the token of the operation the step began before Atrium
// restarted (on this replica or another) into v, and reports whether
// there was one. The operation returned says whether someone asked to
// cancel it meanwhile.
func (s StepOperation) Resume(ctx context.Context, v any) (Operation, bool) {
	op, resumed, ok := s.begin(ctx)
	if !ok || !resumed || !op.Decode(v) {
		return op, false
	}
	return op, true
}

// Save records the started work: running, its external id and URL, and
// the resume token. It completes even when ctx ends meanwhile (Atrium
// stopping right after the work moved on), so a resume never repeats it.
func (s StepOperation) Save(ctx context.Context, externalID, externalURL string, token any) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	op, _, ok := s.begin(ctx)
	if !ok {
		return nil
	}
	b, err := json.Marshal(token)
	if err != nil {
		return Errorf(ErrInternal, "encoding the resume token of operation %s: %w", op.ID, err)
	}
	_, err = s.Req.Operations.Update(ctx, op.ID, OperationUpdate{State: OperationRunning, ExternalID: externalID, ExternalURL: externalURL, Token: b})
	return err
}

// End records how the step ended: succeeded without an error, cancelled
// when the task was cancelled or timed out (Abandoned), failed otherwise
// with the error as what the system answered. When ctx ended because
// Atrium is shutting down the operation stays running, to be resumed.
func (s StepOperation) End(ctx context.Context, err error) {
	if ctx.Err() != nil && !Abandoned(ctx) {
		return
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	op, _, ok := s.begin(wctx)
	if !ok || op.State.Final() {
		return
	}
	u := OperationUpdate{State: OperationSucceeded}
	switch {
	case Abandoned(ctx):
		u.State = OperationCancelled
	case err != nil:
		u.State = OperationFailed
		oe, isOp := err.(*OperationError)
		if !isOp {
			oe = &OperationError{System: s.Start.System, Answer: err.Error(), Action: "see the task's log; retry the task once the cause is fixed"}
		}
		u.Error = oe
	}
	_, _ = s.Req.Operations.Update(wctx, op.ID, u)
}

// OperationKind names one kind of operation in one external system, for
// an action that keeps one operation per step.
type OperationKind struct {
	// System returns the system instance's name, read when a step runs
	// (see SystemName).
	System func() string
	Kind   string
}

// Step returns the StepOperation of one run of the action.
func (k OperationKind) Step(req ActionRequest) StepOperation {
	s := OperationStart{Kind: k.Kind}
	if k.System != nil {
		s.System = k.System()
	}
	return StepOperation{Req: req, Start: s}
}

// SystemName names an external system instance by its type and its
// base URL's host ("awx:controller.example.com"), or its configured
// name.
func SystemName(typ, baseURLOrName string) string {
	if u, err := url.Parse(baseURLOrName); err == nil && u.Host != "" {
		return typ + ":" + u.Host
	}
	if baseURLOrName == "" {
		return typ
	}
	return typ + ":" + baseURLOrName
}
