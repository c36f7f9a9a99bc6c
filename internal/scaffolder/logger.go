package scaffolder

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// eventHandler is a slog.Handler that turns an action's log lines into
// task log events, with the task's secrets redacted.
type eventHandler struct {
	emit   func(ctx context.Context, body EventBody)
	stepID string
	redact func(string) string
	attrs  []slog.Attr
}

func (h *eventHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *eventHandler) Handle(ctx context.Context, r slog.Record) error {
	var b strings.Builder
	if r.Level >= slog.LevelWarn {
		b.WriteString(r.Level.String() + ": ")
	}
	b.WriteString(r.Message)
	write := func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value.Any())
		return true
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(write)
	h.emit(ctx, EventBody{Message: h.redact(b.String()), StepID: h.stepID})
	return nil
}

func (h *eventHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr{}, h.attrs...), attrs...)
	return &c
}

func (h *eventHandler) WithGroup(string) slog.Handler { return h }

// redactor replaces every secret value (of four bytes or more) with ***.
func redactor(secrets map[string]string) func(string) string {
	var vals []string
	for _, v := range secrets {
		if len(v) >= 4 {
			vals = append(vals, v)
		}
	}
	if len(vals) == 0 {
		return func(s string) string { return s }
	}
	pairs := make([]string, 0, 2*len(vals))
	for _, v := range vals {
		pairs = append(pairs, v, "***")
	}
	r := strings.NewReplacer(pairs...)
	return r.Replace
}
