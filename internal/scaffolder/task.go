package scaffolder

import (
	"encoding/json"
	"time"
)

// Task statuses, as Backstage names them.
const (
	StatusOpen       = "open"
	StatusProcessing = "processing"
	StatusCompleted  = "completed"
	StatusFailed     = "failed"
	StatusCancelled  = "cancelled"
	StatusSkipped    = "skipped"
)

// terminal reports whether a task status is final.
func terminal(status string) bool {
	return status == StatusCompleted || status == StatusFailed || status == StatusCancelled
}

// TaskSpec is what a task runs: the template's steps and output with the
// submitted parameters. It is stored with the task; secrets are not in it.
type TaskSpec struct {
	APIVersion   string         `json:"apiVersion"`
	TemplateInfo TemplateInfo   `json:"templateInfo"`
	Parameters   map[string]any `json:"parameters"`
	Steps        []StepSpec     `json:"steps"`
	Output       map[string]any `json:"output"`
	User         *UserInfo      `json:"user,omitempty"`
	// DryRun marks a task run by POST /dry-run: nothing is published.
	DryRun bool `json:"dryRun,omitempty"`
}

// TemplateInfo says which template a task came from.
type TemplateInfo struct {
	EntityRef string `json:"entityRef"`
	BaseURL   string `json:"baseUrl,omitempty"`
}

// UserInfo is who created a task.
type UserInfo struct {
	Ref    string         `json:"ref"`
	Entity map[string]any `json:"entity,omitempty"`
}

// TaskState is the progress of a task, persisted after every step.
type TaskState struct {
	Steps  map[string]*StepState `json:"steps"`
	Output map[string]any        `json:"output,omitempty"`
	Error  string                `json:"error,omitempty"`
}

// StepState is one step's status and output.
type StepState struct {
	Status    string         `json:"status"`
	Output    map[string]any `json:"output,omitempty"`
	StartedAt *time.Time     `json:"startedAt,omitempty"`
	EndedAt   *time.Time     `json:"endedAt,omitempty"`
	Error     string         `json:"error,omitempty"`
}

// SerializedTask is a task in the API's shape.
type SerializedTask struct {
	ID              string     `json:"id"`
	Status          string     `json:"status"`
	Spec            TaskSpec   `json:"spec"`
	CreatedAt       time.Time  `json:"createdAt"`
	LastHeartbeatAt *time.Time `json:"lastHeartbeatAt,omitempty"`
	CreatedBy       string     `json:"createdBy"`
	State           TaskState  `json:"state"`
}

// TaskEvent is an event in the API's shape.
type TaskEvent struct {
	ID        int64           `json:"id"`
	TaskID    string          `json:"taskId"`
	Type      string          `json:"type"`
	Body      json.RawMessage `json:"body"`
	CreatedAt time.Time       `json:"createdAt"`
}

// Event types.
const (
	EventLog        = "log"
	EventCompletion = "completion"
	EventCancelled  = "cancelled"
	EventRecovered  = "recovered"
)

// EventBody is the body of a task event.
type EventBody struct {
	Message string         `json:"message"`
	StepID  string         `json:"stepId,omitempty"`
	Status  string         `json:"status,omitempty"`
	Output  map[string]any `json:"output,omitempty"`
	Error   *EventError    `json:"error,omitempty"`
}

// EventError is a failure in a completion event.
type EventError struct {
	Name    string `json:"name"`
	Message string `json:"message"`
}
