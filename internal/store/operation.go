package store

import (
	"context"
	"slices"
	"time"

	"github.com/atrium-portal/atrium/internal/fault"
)

// OperationStore keeps long-running external work (a merge request, an AWX
// job, a Terraform run, an ARM deployment, an operator install) with its
// resume token, so that any replica can follow it after a restart.
type OperationStore interface {
	// OperationCreate stores a new operation; fault.Conflict when the id
	// exists.
	OperationCreate(ctx context.Context, op Operation) error
	// OperationGet returns one operation; fault.NotFound when absent.
	OperationGet(ctx context.Context, id string) (*Operation, error)
	// OperationGetByKey returns the newest operation with key;
	// fault.NotFound when none.
	OperationGetByKey(ctx context.Context, key string) (*Operation, error)
	// OperationList returns one page of operations matching p, newest
	// first.
	OperationList(ctx context.Context, p OperationListParams) (OperationListResult, error)
	// OperationUpdate reads the operation, lets fn change it and writes it
	// back in one transaction. A change of state that OperationTransition
	// refuses is fault.Conflict; an error from fn aborts the update and is
	// returned as is; fault.NotFound when absent.
	OperationUpdate(ctx context.Context, id string, fn func(*Operation) error) (*Operation, error)
}

// The states of an operation. Pending is stored but not started yet;
// running is following the external work; waiting-retry failed
// transiently and tries again at NextAttemptAt. The other three are final.
const (
	OperationPending      = "pending"
	OperationRunning      = "running"
	OperationWaitingRetry = "waiting-retry"
	OperationSucceeded    = "succeeded"
	OperationFailed       = "failed"
	OperationCancelled    = "cancelled"
)

// OperationStates lists every state, in the order of the life cycle.
var OperationStates = []string{OperationPending, OperationRunning, OperationWaitingRetry, OperationSucceeded, OperationFailed, OperationCancelled}

// OperationFinal reports whether state is one an operation never leaves.
func OperationFinal(state string) bool {
	return state == OperationSucceeded || state == OperationFailed || state == OperationCancelled
}

// OperationTransition checks a change of state: an unknown state, or
// leaving a final state (succeeded → running), is fault.Conflict.
func OperationTransition(from, to string) error {
	if !slices.Contains(OperationStates, to) {
		return fault.New(fault.Invalid, "operation state %q is not one of %v", to, OperationStates)
	}
	if from == to {
		return nil
	}
	if OperationFinal(from) {
		return fault.New(fault.Conflict, "operation is %s already and cannot become %s", from, to)
	}
	if to == OperationPending {
		return fault.New(fault.Conflict, "operation is %s and cannot become pending again", from)
	}
	return nil
}

// Operation is one piece of long-running external work as stored.
type Operation struct {
	ID string
	// Key identifies the work within its origin (a task's step, or a
	// card's action) so that a rerun finds it: OperationGetByKey.
	Key string
	// TaskID and StepID are empty for work outside a scaffolder task.
	TaskID string
	StepID string
	// PluginID is the plugin that started it.
	PluginID string
	// System is the external system instance ("awx:demo", "gitlab:main").
	System string
	// Kind is what it is ("job", "run", "deployment", "merge-request",
	// "operator-install").
	Kind string
	// EntityRef is the catalog entity it is about, when known.
	EntityRef   string
	ExternalID  string
	ExternalURL string
	// Token is the resume token, JSON ("" when none yet).
	Token string
	State string
	// Attempts counts the tries that failed transiently.
	Attempts      int
	NextAttemptAt time.Time
	// LastError says which system failed, what it answered and what to do.
	ErrorSystem string
	ErrorAnswer string
	ErrorAction string
	// CancelRequested asks whoever follows the work to cancel it.
	CancelRequested bool
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// OperationListParams filter and page operations. Empty filters do not
// filter.
type OperationListParams struct {
	State     []string
	System    string
	TaskID    string
	EntityRef string
	Limit     int
	Offset    int
}

// OperationListResult is one page of operations and the number of matches.
type OperationListResult struct {
	Operations []Operation
	Total      int
}
