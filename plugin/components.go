package plugin

import (
	"context"
	"encoding/json"
	"net/http"
)

// Action is a scaffolder action (a template step's `action:`).
type Action interface {
	// ID is what templates name ("hello:greet"); unique across Atrium.
	ID() string
	// Description is one sentence for GET /api/scaffolder/v2/actions.
	Description() string
	// Schema returns the JSON Schemas of the input and the output.
	Schema() (input, output json.RawMessage)
	// Run performs the action. It must watch ctx: a cancelled task or a
	// step timeout ends it. Logs, outputs and progress go through rep.
	Run(ctx context.Context, req ActionRequest, rep ActionReporter) error
}

// ActionRequest is one run of an action.
type ActionRequest struct {
	TaskID string `json:"taskId"`
	// User is the entity ref of who created the task.
	User string `json:"user,omitempty"`
	// Input is the step's rendered input, validated against the schema.
	Input map[string]any `json:"input"`
	// Workspace is the task's working directory (absolute). An action
	// resolves every path inside it (os.OpenRoot) and refuses escapes.
	Workspace string `json:"workspace"`
	// Secrets are the task's secrets; never log them.
	Secrets map[string]string `json:"secrets,omitempty"`
	// TemplateBaseURL is where the template's relative URLs resolve.
	TemplateBaseURL string `json:"templateBaseUrl,omitempty"`
	// DryRun is set for dry runs: change nothing outside the workspace.
	DryRun bool `json:"dryRun,omitempty"`
	// StepID is the template step's id.
	StepID string `json:"stepId,omitempty"`
	// Operations keeps the step's long-running external work with its
	// resume token in Atrium's database (nil in dry runs and from a host
	// that predates operations: keep nothing).
	Operations Operations `json:"-"`
}

// ActionReporter receives what an action reports while it runs.
type ActionReporter interface {
	// Log writes a line to the task's log (level: debug, info, warn, error).
	Log(level, message string)
	// Output records an output of the step (steps['id'].output.name).
	Output(name string, value any)
	// Progress reports how far the action is (0–100) with a short message.
	Progress(percent int, message string)
}

// MutationType is MutationFull or MutationDelta.
type MutationType string

// The mutation types, as in Atrium's catalog engine.
const (
	// MutationFull replaces everything the provider emitted before.
	MutationFull MutationType = "full"
	// MutationDelta adds or updates Entities and removes Removed.
	MutationDelta MutationType = "delta"
)

// Mutation is a change of a provider's entities.
type Mutation struct {
	Type MutationType `json:"type"`
	// Entities are entities as JSON objects. Each must carry the
	// backstage.io/managed-by-location and
	// backstage.io/managed-by-origin-location annotations.
	Entities []json.RawMessage `json:"entities,omitempty"`
	// Removed are entity refs to remove (delta only).
	Removed []string `json:"removed,omitempty"`
	// LocationKeys, when set, has one entry per entity of Entities: the
	// location key that owns it (Backstage's locationKey). An entity owned
	// by one key is not overwritten by an entity of the same ref under
	// another key: the first location wins, and the loser is reported as a
	// conflict. An empty entry (or no LocationKeys) means the provider
	// itself owns the entity. The host keeps a plugin's keys apart from
	// every other source's, so a plugin cannot take over entities of
	// catalog locations or of another plugin. The field is optional on the
	// wire: hosts that predate it ignore it.
	LocationKeys []string `json:"locationKeys,omitempty"`
}

// EntityProvider feeds entities into the catalog on its own schedule.
type EntityProvider interface {
	// Name is stable and unique; it names the provider's entities.
	Name() string
	// Run emits mutations through emit until ctx is done. Returning an
	// error stops the provider; the host logs it and restarts it later.
	Run(ctx context.Context, emit func(context.Context, Mutation) error) error
}

// Processor validates or enriches entities during ingestion.
type Processor interface {
	// Name identifies the processor in logs and errors.
	Name() string
	// Process receives an entity (JSON) after Atrium's own validation and
	// returns the entity to store (nil: unchanged), extra relations and
	// problems. A problem with Level "error" keeps the entity out.
	Process(ctx context.Context, entity json.RawMessage) (ProcessResult, error)
}

// ProcessResult is what a Processor returns.
type ProcessResult struct {
	Entity    json.RawMessage `json:"entity,omitempty"`
	Relations []Relation      `json:"relations,omitempty"`
	Problems  []Problem       `json:"problems,omitempty"`
}

// Relation is a directed relation from the processed entity.
type Relation struct {
	Type      string `json:"type"`
	TargetRef string `json:"targetRef"`
}

// Problem is an issue found in an entity.
type Problem struct {
	// Level is "error" or "warning".
	Level   string `json:"level"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// EntityCard contributes a card to the pages of matching entities.
type EntityCard interface {
	// ID is unique within the plugin.
	ID() string
	// Title is the card's heading.
	Title() string
	// Selector says which entities get the card: a catalog filter in
	// Backstage's syntax ("kind=component,spec.type=service"); empty
	// matches every entity.
	Selector() string
	// Render returns the card's content for one entity (JSON).
	Render(ctx context.Context, entity json.RawMessage) (View, error)
}

// Event is an external webhook delivered to a subscriber.
type Event struct {
	// Path is the part after /api/events/<plugin>/.
	Path    string      `json:"path"`
	Headers http.Header `json:"headers"`
	Body    []byte      `json:"body"`
}

// EventSubscriber receives webhooks at /api/events/<plugin>/<path>.
type EventSubscriber interface {
	// Name identifies the subscriber within the plugin.
	Name() string
	// Verify checks the event's signature or token; an error refuses the
	// event with 401 and nothing is handled.
	Verify(ctx context.Context, ev Event) error
	// Handle processes a verified event.
	Handle(ctx context.Context, ev Event) error
}

// Service is background work with the plugin's lifecycle.
type Service interface {
	Name() string
	// Run works until ctx is done; an error is logged and the service
	// restarted with backoff.
	Run(ctx context.Context) error
}
