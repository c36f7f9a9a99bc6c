package scaffolder

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"go.opentelemetry.io/otel/attribute"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/pluginhost/rpc"
	"github.com/atrium-portal/atrium/internal/tracing"
	"github.com/atrium-portal/atrium/plugin"
)

// PluginAction returns a plugin's action (built-in or a gRPC client) as a
// scaffolder action, so it registers in a Registry like any other. The
// action's reports go to the task: Log to the task log, Output to the
// step's outputs, Progress to the log as "progress N%: message". Its
// errors keep their kind and name the plugin.
//
// An action that AsPluginAction made from a scaffolder action is
// returned unwrapped: a built-in runs exactly as before.
func PluginAction(pluginID string, a plugin.Action) Action {
	if w, ok := a.(*exported); ok {
		return w.a
	}
	return &pluginAction{pluginID: pluginID, a: a}
}

// AsPluginAction returns a scaffolder action as a plugin.Action: the
// built-in actions are offered through the scaffolder-builtin plugin.
func AsPluginAction(a Action) plugin.Action { return &exported{a: a} }

var (
	_ Action        = (*pluginAction)(nil)
	_ Describer     = (*pluginAction)(nil)
	_ plugin.Action = (*exported)(nil)
)

type pluginAction struct {
	pluginID string
	a        plugin.Action
}

func (p *pluginAction) ID() string          { return p.a.ID() }
func (p *pluginAction) Description() string { return p.a.Description() }
func (p *pluginAction) Schema() (json.RawMessage, json.RawMessage) {
	return p.a.Schema()
}

func (p *pluginAction) Run(ctx context.Context, ac ActionContext) error {
	req := plugin.ActionRequest{
		TaskID: ac.TaskID, User: ac.User, Input: ac.Input, Workspace: ac.WorkspacePath,
		Secrets: ac.Secrets, TemplateBaseURL: ac.TemplateBaseURL, DryRun: ac.DryRun, StepID: ac.StepID,
	}
	if ac.Operations != nil && ac.TaskID != "" {
		req.Operations = ac.Operations.For(p.pluginID, ac.TaskID, ac.StepID)
	}
	ctx, span := tracing.StartSpan(ctx, "plugin.action "+p.a.ID(), attribute.String("atrium.plugin", p.pluginID))
	err := p.a.Run(ctx, req, &taskReporter{ac: ac})
	tracing.End(span, err)
	if err != nil && ctx.Err() == nil {
		return rpc.Fault(p.pluginID, err)
	}
	return err
}

// actionPlugin is the id of the plugin that offers a, "" for Atrium's own
// actions.
func actionPlugin(a Action) string {
	if p, ok := a.(*pluginAction); ok {
		return p.pluginID
	}
	return ""
}

// taskReporter maps an action's reports onto the task.
type taskReporter struct {
	ac ActionContext
}

func (r *taskReporter) Log(level, message string) {
	if r.ac.Logger == nil {
		return
	}
	r.ac.Logger.Log(context.Background(), levelOf(level), message)
}

func (r *taskReporter) Output(name string, value any) {
	if r.ac.Output != nil {
		r.ac.Output(name, value)
	}
}

func (r *taskReporter) Progress(percent int, message string) {
	if r.ac.Logger == nil {
		return
	}
	percent = max(0, min(100, percent))
	r.ac.Logger.Info(strings.TrimSpace(fmt.Sprintf("progress %d%%: %s", percent, message)))
}

func levelOf(s string) slog.Level {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug
	case "warn", "warning":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// exported is a scaffolder action seen as a plugin.Action.
type exported struct {
	a Action
}

func (e *exported) ID() string { return e.a.ID() }

func (e *exported) Description() string {
	if d, ok := e.a.(Describer); ok {
		return d.Description()
	}
	return ""
}

func (e *exported) Schema() (json.RawMessage, json.RawMessage) { return e.a.Schema() }

func (e *exported) Run(ctx context.Context, req plugin.ActionRequest, rep plugin.ActionReporter) error {
	root, err := os.OpenRoot(req.Workspace)
	if err != nil {
		return fault.Wrap(fault.Internal, err, "action %s: opening the workspace", e.a.ID())
	}
	defer root.Close()
	return e.a.Run(ctx, ActionContext{
		Input: req.Input, Workspace: root, WorkspacePath: req.Workspace,
		Logger:  slog.New(&reporterHandler{rep: rep}),
		Secrets: req.Secrets, Output: rep.Output, TemplateBaseURL: req.TemplateBaseURL,
		TaskID: req.TaskID, User: req.User, DryRun: req.DryRun, StepID: req.StepID,
	})
}

// reporterHandler writes slog records to an ActionReporter's Log.
type reporterHandler struct {
	rep   plugin.ActionReporter
	attrs []slog.Attr
}

func (h *reporterHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *reporterHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	write := func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value.Any())
		return true
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(write)
	level := "info"
	switch {
	case r.Level < slog.LevelInfo:
		level = "debug"
	case r.Level >= slog.LevelError:
		level = "error"
	case r.Level >= slog.LevelWarn:
		level = "warn"
	}
	h.rep.Log(level, b.String())
	return nil
}

func (h *reporterHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr{}, h.attrs...), attrs...)
	return &c
}

func (h *reporterHandler) WithGroup(string) slog.Handler { return h }
