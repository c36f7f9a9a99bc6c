// Package wire is the gRPC protocol between Atrium and an out-of-process
// plugin: the go-plugin handshake, the service and method names, and the
// JSON messages that travel inside protobuf's well-known BytesValue.
//
// There is no .proto file and no generated code. Each RPC carries one
// google.protobuf.BytesValue whose bytes are a JSON document defined
// here; the default protobuf codec stays in place, so go-plugin's own
// services (broker, stdio, controller) and ours share one connection. The
// plugin's SDK types are JSON already (package plugin), so JSON is the
// one encoding of the contract whether a plugin is built in or not.
//
// This package is imported by the plugin side (package plugin) and the
// host side (internal/pluginhost/rpc); it must not import either.
package wire

import (
	"encoding/json"
	"fmt"
	"time"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// ProtocolVersion is the version of this protocol; go-plugin negotiates it
// (VersionedPlugins). A change that old plugins cannot follow gets a new
// version, and the host keeps serving the old one for a while.
const ProtocolVersion = 1

// PluginName is the name the plugin set is dispensed under.
const PluginName = "atrium"

// Handshake is checked before anything else. The cookie is not a security
// measure: it stops an operator from running a plugin binary by hand and
// tells a binary that it was started by Atrium. Never change its values.
var Handshake = goplugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "ATRIUM_PLUGIN_MAGIC_COOKIE",
	MagicCookieValue: "8f6f3b1c2d8e4e0f9a7a51e3c0b2d6a4",
}

// Service is the gRPC service's full name.
const Service = "atrium.plugin.v1.Plugin"

// The methods. Unary unless noted.
const (
	MethodInfo        = "Info"
	MethodProvision   = "Provision"
	MethodValidate    = "Validate"
	MethodComponents  = "Components"
	MethodCleanup     = "Cleanup"
	MethodRunAction   = "RunAction"   // server stream of ActionEvent; ActionReply back when operations are offered
	MethodRunProvider = "RunProvider" // bidirectional: ProviderMessage ⇄ ProviderAck
	MethodProcess     = "Process"
	MethodRenderCard  = "RenderCard"
	MethodVerifyEvent = "VerifyEvent"
	MethodHandleEvent = "HandleEvent"
	MethodRunService  = "RunService"
)

// FullMethod returns the method's gRPC path ("/atrium.plugin.v1.Plugin/Info").
func FullMethod(method string) string { return "/" + Service + "/" + method }

// Empty is the JSON of a message without content.
type Empty struct{}

// ProvisionRequest carries the host's offer and the plugin's configuration.
type ProvisionRequest struct {
	BaseURL string          `json:"baseUrl,omitempty"`
	DataDir string          `json:"dataDir,omitempty"`
	Config  json.RawMessage `json:"config,omitempty"`
}

// ComponentsResponse describes a plugin's components; the host builds
// one client per component from it.
type ComponentsResponse struct {
	Actions     []ActionDesc `json:"actions,omitempty"`
	Providers   []string     `json:"providers,omitempty"`
	Processors  []string     `json:"processors,omitempty"`
	Cards       []CardDesc   `json:"cards,omitempty"`
	Subscribers []string     `json:"subscribers,omitempty"`
	Services    []string     `json:"services,omitempty"`
	// Operations says that the plugin's RunAction reads the host's
	// ActionReply messages (an SDK that knows operations); only then
	// does the host offer plugin.Operations to its actions.
	Operations bool `json:"operations,omitempty"`
	// CancelCause says that the plugin's RunAction reads ActionReply.Cancel
	// and applies the Deadline of ActionRunRequest: a cancelled action's
	// context there ends with the cause it has in the host
	// (context.Cause), as in a built-in. Only then does the host keep the
	// stream open after a cancel to send it.
	CancelCause bool `json:"cancelCause,omitempty"`
}

// ActionDesc describes an action.
type ActionDesc struct {
	ID          string          `json:"id"`
	Description string          `json:"description,omitempty"`
	Input       json.RawMessage `json:"input,omitempty"`
	Output      json.RawMessage `json:"output,omitempty"`
}

// CardDesc describes an entity card.
type CardDesc struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Selector string `json:"selector,omitempty"`
}

// ActionRunRequest starts an action run; Request is a plugin.ActionRequest.
type ActionRunRequest struct {
	Action  string          `json:"action"`
	Request json.RawMessage `json:"request"`
	// Operations says that the host answers OperationCall events with an
	// ActionReply on the same stream (plugin.Operations). Hosts that
	// predate it leave it false, and the plugin sees no Operations.
	Operations bool `json:"operations,omitempty"`
	// Deadline, when set, is when the action's context ends with
	// context.DeadlineExceeded (the step's timeout). The host then keeps
	// the stream open past it for the plugin to finish; plugin and host
	// share the machine's clock.
	Deadline *time.Time `json:"deadline,omitempty"`
}

// ActionEvent is one report of a running action; exactly one field is set.
type ActionEvent struct {
	Log       *LogEvent      `json:"log,omitempty"`
	Output    *OutputEvent   `json:"output,omitempty"`
	Progress  *ProgressEvent `json:"progress,omitempty"`
	Operation *OperationCall `json:"operation,omitempty"`
}

// The methods of an OperationCall: those of plugin.Operations.
const (
	OperationBegin  = "begin"
	OperationUpdate = "update"
	OperationGet    = "get"
)

// OperationCall is a call of plugin.Operations from a running action;
// the host answers with an ActionReply carrying the same Seq.
type OperationCall struct {
	Seq    int64  `json:"seq"`
	Method string `json:"method"`
	ID     string `json:"id,omitempty"`
	// Body is a plugin.OperationStart (begin) or plugin.OperationUpdate
	// (update).
	Body json.RawMessage `json:"body,omitempty"`
}

// ActionReply is the host's message to a running action: the answer to an
// OperationCall, or the cause of its cancellation (Cancel).
type ActionReply struct {
	Seq int64 `json:"seq"`
	// Operation is a plugin.Operation.
	Operation json.RawMessage `json:"operation,omitempty"`
	Resumed   bool            `json:"resumed,omitempty"`
	Error     string          `json:"error,omitempty"`
	// Kind is the plugin.ErrorKind of Error.
	Kind string `json:"kind,omitempty"`
	// Cancel, when set (with Seq 0), says that the action's context was
	// cancelled in the host, and why.
	Cancel *ActionCancel `json:"cancel,omitempty"`
}

// The reasons of an ActionCancel.
const (
	CancelTask     = "task"     // a person cancelled the task: plugin.ErrTaskCancelled
	CancelDeadline = "deadline" // context.DeadlineExceeded
	CancelPlain    = "canceled" // context.Canceled, no other cause
	CancelOther    = "other"    // another cause, described by Message
)

// ActionCancel is the cause of an action's cancellation (context.Cause).
type ActionCancel struct {
	Reason  string `json:"reason"`
	Message string `json:"message,omitempty"`
}

// LogEvent is a line of an action's log.
type LogEvent struct {
	Level   string `json:"level"`
	Message string `json:"message"`
}

// OutputEvent is an output of an action.
type OutputEvent struct {
	Name  string          `json:"name"`
	Value json.RawMessage `json:"value"`
}

// ProgressEvent is an action's progress.
type ProgressEvent struct {
	Percent int    `json:"percent"`
	Message string `json:"message,omitempty"`
}

// ProviderOpen is the host's first message on RunProvider.
type ProviderOpen struct {
	Provider string `json:"provider"`
}

// ProviderMessage is a mutation from the plugin (a plugin.Mutation).
type ProviderMessage struct {
	Mutation json.RawMessage `json:"mutation"`
}

// ProviderAck answers each ProviderMessage: the host applied the mutation,
// or Error says why not. The plugin's emit returns only after the ack, so
// a provider cannot outrun the catalog.
type ProviderAck struct {
	Error string `json:"error,omitempty"`
	// Kind is the plugin.ErrorKind of Error.
	Kind string `json:"kind,omitempty"`
}

// ProcessRequest asks a processor to process an entity.
type ProcessRequest struct {
	Processor string          `json:"processor"`
	Entity    json.RawMessage `json:"entity"`
}

// CardRequest asks a card to render for an entity.
type CardRequest struct {
	Card   string          `json:"card"`
	Entity json.RawMessage `json:"entity"`
}

// EventRequest delivers an event (a plugin.Event) to a subscriber.
type EventRequest struct {
	Subscriber string          `json:"subscriber"`
	Event      json.RawMessage `json:"event"`
}

// ServiceRequest runs a service until the call is cancelled.
type ServiceRequest struct {
	Service string `json:"service"`
}

// Encode returns v as a BytesValue holding its JSON.
func Encode(v any) (*wrapperspb.BytesValue, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding %T: %w", v, err)
	}
	return wrapperspb.Bytes(b), nil
}

// Decode reads the JSON in m into v.
func Decode(m *wrapperspb.BytesValue, v any) error {
	if m == nil || len(m.GetValue()) == 0 {
		return fmt.Errorf("empty message, want %T", v)
	}
	if err := json.Unmarshal(m.GetValue(), v); err != nil {
		return fmt.Errorf("decoding %T: %w", v, err)
	}
	return nil
}
