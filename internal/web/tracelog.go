package web

import (
	"context"
	"log/slog"
)

// ContextWithLogger returns ctx whose request logger (Logger) is l, for
// middleware that adds attributes to every line of a request, such as the
// trace id.
func ContextWithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, keyLogger, l)
}
