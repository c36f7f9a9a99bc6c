// Package operations keeps Atrium's long-running external work — a merge
// request, an AWX job, a Terraform run, an ARM deployment, an operator
// install — as persisted operations with a resume token, a state machine
// (pending → running → succeeded | failed | cancelled, with waiting-retry)
// and the last error. Actions reach it through plugin.Operations; people
// through the API and the Operations page.
package operations

import (
	"context"
	"encoding/json"

	"github.com/google/uuid"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/plugin"
)

// Service reads and changes operations.
type Service struct {
	Store store.OperationStore
	// CancelTask, when set, cancels the scaffolder task of an operation
	// that a person cancels while a step follows it: the step's context
	// ends, and the action cancels the work remotely.
	CancelTask func(ctx context.Context, taskID string) error
}

// For returns the plugin.Operations of one step of a task (taskID empty:
// work outside a task, keyed by the plugin and the operation's name).
func (s *Service) For(pluginID, taskID, stepID string) plugin.Operations {
	return &bound{s: s, pluginID: pluginID, taskID: taskID, stepID: stepID}
}

// Get returns one operation.
func (s *Service) Get(ctx context.Context, id string) (plugin.Operation, error) {
	o, err := s.Store.OperationGet(ctx, id)
	if err != nil {
		return plugin.Operation{}, err
	}
	return fromStore(*o), nil
}

// List returns one page of operations and the number of matches.
func (s *Service) List(ctx context.Context, p store.OperationListParams) ([]plugin.Operation, int, error) {
	for _, st := range p.State {
		if err := store.OperationTransition(store.OperationRunning, st); fault.KindOf(err) == fault.Invalid {
			return nil, 0, fault.New(fault.Invalid, "state: %q is not one of %v", st, store.OperationStates)
		}
	}
	res, err := s.Store.OperationList(ctx, p)
	if err != nil {
		return nil, 0, err
	}
	out := make([]plugin.Operation, 0, len(res.Operations))
	for _, o := range res.Operations {
		out = append(out, fromStore(o))
	}
	return out, res.Total, nil
}

// Cancel cancels an operation. One that nobody follows (pending, or
// waiting to retry) is cancelled at once; a running one is marked, and
// its task cancelled, so the action following it cancels it remotely
// and records the final state. A final operation is fault.Conflict.
func (s *Service) Cancel(ctx context.Context, id string) (plugin.Operation, error) {
	o, err := s.Store.OperationUpdate(ctx, id, func(o *store.Operation) error {
		if store.OperationFinal(o.State) {
			return fault.New(fault.Conflict, "operation %s is %s already; there is nothing to cancel", o.ID, o.State)
		}
		o.CancelRequested = true
		if o.State != store.OperationRunning {
			o.State = store.OperationCancelled
		}
		return nil
	})
	if err != nil {
		return plugin.Operation{}, err
	}
	if o.State == store.OperationRunning && o.TaskID != "" && s.CancelTask != nil {
		if err := s.CancelTask(ctx, o.TaskID); err != nil {
			return fromStore(*o), err
		}
	}
	return fromStore(*o), nil
}

// CancelTaskOperations marks the operations of a cancelled task: those nobody
// follows end cancelled, running ones are asked to cancel.
func (s *Service) CancelTaskOperations(ctx context.Context, taskID string) error {
	res, err := s.Store.OperationList(ctx, store.OperationListParams{TaskID: taskID,
		State: []string{store.OperationPending, store.OperationRunning, store.OperationWaitingRetry}})
	if err != nil {
		return err
	}
	for _, o := range res.Operations {
		_, err := s.Store.OperationUpdate(ctx, o.ID, func(o *store.Operation) error {
			if store.OperationFinal(o.State) {
				return nil
			}
			o.CancelRequested = true
			if o.State != store.OperationRunning {
				o.State = store.OperationCancelled
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// bound is the plugin.Operations of one step.
type bound struct {
	s                        *Service
	pluginID, taskID, stepID string
}

var _ plugin.Operations = (*bound)(nil)

func (b *bound) key(name string) string {
	if b.taskID == "" {
		return "plugin:" + b.pluginID + "/" + name
	}
	return "task:" + b.taskID + "/" + b.stepID + "/" + b.pluginID + "/" + name
}

func (b *bound) Begin(ctx context.Context, st plugin.OperationStart) (plugin.Operation, bool, error) {
	name := st.Name
	if name == "" {
		name = st.Kind
	}
	if name == "" || st.System == "" {
		return plugin.Operation{}, false, fault.New(fault.Invalid, "plugin %s: an operation needs a kind (or a name) and a system", b.pluginID)
	}
	key := b.key(name)
	o, err := b.s.Store.OperationGetByKey(ctx, key)
	switch {
	case err == nil && o.State != store.OperationFailed && o.State != store.OperationCancelled:
		return fromStore(*o), true, nil
	case err != nil && fault.KindOf(err) != fault.NotFound:
		return plugin.Operation{}, false, err
	}
	n := store.Operation{
		ID: uuid.NewString(), Key: key, TaskID: b.taskID, StepID: b.stepID, PluginID: b.pluginID,
		System: st.System, Kind: st.Kind, EntityRef: st.EntityRef, State: store.OperationPending,
	}
	if err := b.s.Store.OperationCreate(ctx, n); err != nil {
		return plugin.Operation{}, false, err
	}
	got, err := b.s.Store.OperationGet(ctx, n.ID)
	if err != nil {
		return plugin.Operation{}, false, err
	}
	return fromStore(*got), false, nil
}

func (b *bound) Update(ctx context.Context, id string, u plugin.OperationUpdate) (plugin.Operation, error) {
	o, err := b.s.Store.OperationUpdate(ctx, id, func(o *store.Operation) error {
		if o.PluginID != b.pluginID || o.TaskID != b.taskID {
			return fault.New(fault.NotFound, "operation %s not found", id)
		}
		if u.State != "" {
			o.State = string(u.State)
		}
		if u.ExternalID != "" {
			o.ExternalID = u.ExternalID
		}
		if u.ExternalURL != "" {
			o.ExternalURL = u.ExternalURL
		}
		if u.Token != nil {
			if !json.Valid(u.Token) {
				return fault.New(fault.Invalid, "operation %s: the resume token is not JSON", id)
			}
			o.Token = string(u.Token)
		}
		if u.Error != nil {
			o.ErrorSystem, o.ErrorAnswer, o.ErrorAction = u.Error.System, u.Error.Answer, u.Error.Action
		}
		if u.Attempts > 0 {
			o.Attempts = u.Attempts
		}
		if !u.NextAttemptAt.IsZero() {
			o.NextAttemptAt = u.NextAttemptAt
		}
		return nil
	})
	if err != nil {
		return plugin.Operation{}, err
	}
	return fromStore(*o), nil
}

func (b *bound) Get(ctx context.Context, id string) (plugin.Operation, error) {
	o, err := b.s.Store.OperationGet(ctx, id)
	if err != nil {
		return plugin.Operation{}, err
	}
	if o.PluginID != b.pluginID || o.TaskID != b.taskID {
		return plugin.Operation{}, fault.New(fault.NotFound, "operation %s not found", id)
	}
	return fromStore(*o), nil
}

func fromStore(o store.Operation) plugin.Operation {
	p := plugin.Operation{
		ID: o.ID, TaskID: o.TaskID, StepID: o.StepID, Plugin: o.PluginID, System: o.System, Kind: o.Kind,
		EntityRef: o.EntityRef, ExternalID: o.ExternalID, ExternalURL: o.ExternalURL,
		State: plugin.OperationState(o.State), Attempts: o.Attempts, NextAttemptAt: o.NextAttemptAt,
		CancelRequested: o.CancelRequested, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt,
	}
	if o.Token != "" {
		p.Token = json.RawMessage(o.Token)
	}
	if o.ErrorSystem != "" || o.ErrorAnswer != "" {
		p.LastError = &plugin.OperationError{System: o.ErrorSystem, Answer: o.ErrorAnswer, Action: o.ErrorAction}
	}
	return p
}
