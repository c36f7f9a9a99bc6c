package scaffolder

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"sort"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/atrium-portal/atrium/internal/fault"
)

// Action is one kind of step. Built-in actions live in package actions;
// the plugin system adds others through the same interface.
type Action interface {
	// ID is what templates name in a step's action ("fetch:template").
	ID() string
	// Schema returns the JSON Schemas of the input and the output.
	Schema() (in, out json.RawMessage)
	// Run performs the action. It must watch ctx: a cancelled task or a
	// step timeout ends it.
	Run(ctx context.Context, ac ActionContext) error
}

// Describer is implemented by actions that describe themselves for
// GET /v2/actions.
type Describer interface {
	Description() string
}

// ActionContext is what an action gets to work with.
type ActionContext struct {
	// Input is the step's rendered input, validated against the schema.
	Input map[string]any
	// Workspace is the task's working directory. Every path an action
	// touches goes through it, so nothing resolves outside.
	Workspace *os.Root
	// WorkspacePath is the directory's path, for libraries that need one
	// (go-git); resolve user-given paths through Workspace first.
	WorkspacePath string
	// Logger writes to the task's log (secrets are redacted).
	Logger *slog.Logger
	// Secrets are the task's secrets.
	Secrets map[string]string
	// Output records an output of the step.
	Output func(name string, value any)
	// TemplateBaseURL is where the template's relative URLs resolve.
	TemplateBaseURL string
	// TaskID identifies the task; User is the ref of who created it.
	TaskID string
	User   string
	// DryRun is set by POST /dry-run: actions that publish or register
	// must not change anything outside the workspace.
	DryRun bool
	// StepID is the step's id.
	StepID string
	// Operations keeps the step's long-running external work (nil in dry
	// runs and tests).
	Operations Operations
}

// Registry holds the actions by id. It is safe for concurrent use:
// plugins installed or removed while Atrium runs add and remove their
// actions while tasks look them up.
type Registry struct {
	mu      sync.RWMutex
	actions map[string]registered
}

type registered struct {
	action Action
	input  *jsonschema.Schema
}

// NewRegistry returns a registry of actions; ids must be unique and
// schemas must compile.
func NewRegistry(actions ...Action) (*Registry, error) {
	r := &Registry{actions: map[string]registered{}}
	for _, a := range actions {
		if err := r.Add(a); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Add registers an action.
func (r *Registry) Add(a Action) error {
	id := a.ID()
	in, _ := a.Schema()
	var schema any = map[string]any{}
	if len(in) > 0 {
		if err := json.Unmarshal(in, &schema); err != nil {
			return fault.Wrap(fault.Invalid, err, "action %s: input schema", id)
		}
	}
	s, err := compileSchema("action-"+id, schema)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.actions[id]; dup {
		return fault.New(fault.Conflict, "action %s is registered twice", id)
	}
	r.actions[id] = registered{action: a, input: s}
	return nil
}

// Remove unregisters the action id and reports whether it was there.
// Steps already running keep the action they looked up; later steps that
// name it fail as an unknown action.
func (r *Registry) Remove(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.actions[id]
	delete(r.actions, id)
	return ok
}

// Get returns an action by id.
func (r *Registry) Get(id string) (Action, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	x, ok := r.actions[id]
	return x.action, ok
}

// IDs returns the registered ids, sorted.
func (r *Registry) IDs() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.ids()
}

// ids returns the sorted ids; r.mu is held.
func (r *Registry) ids() []string {
	ids := make([]string, 0, len(r.actions))
	for id := range r.actions {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// validateInput checks a step's input against its action's schema.
func (r *Registry) validateInput(id string, input map[string]any) error {
	r.mu.RLock()
	x, ok := r.actions[id]
	if !ok {
		defer r.mu.RUnlock()
		return fault.New(fault.Invalid, "unknown action %q (known: %v)", id, r.ids())
	}
	r.mu.RUnlock()
	return validate(x.input, input)
}

// ActionInfo is one entry of GET /v2/actions.
type ActionInfo struct {
	ID          string       `json:"id"`
	Description string       `json:"description,omitempty"`
	Schema      ActionSchema `json:"schema"`
}

// ActionSchema holds an action's input and output schemas.
type ActionSchema struct {
	Input  json.RawMessage `json:"input,omitempty"`
	Output json.RawMessage `json:"output,omitempty"`
}

// List describes every action, sorted by id.
func (r *Registry) List() []ActionInfo {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]ActionInfo, 0, len(r.actions))
	for _, id := range r.ids() {
		a := r.actions[id].action
		in, o := a.Schema()
		info := ActionInfo{ID: id, Schema: ActionSchema{Input: in, Output: o}}
		if d, ok := a.(Describer); ok {
			info.Description = d.Description()
		}
		out = append(out, info)
	}
	return out
}
