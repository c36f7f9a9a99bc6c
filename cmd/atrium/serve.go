package main

import (
	"context"
	"errors"
	"io"
	"log/slog"

	"github.com/atrium-portal/atrium/internal/app"
	"github.com/atrium-portal/atrium/internal/logsink"
)

// serve runs the portal until interrupted.
func serve(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlagSet("serve")
	var files stringList
	fs.Var(&files, "config", "configuration file (repeatable)")
	role := fs.String("role", app.RoleAll, "what this replica does: all, api (serve requests only) or worker (background work only)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("serve takes no arguments, got %q", pos)
	}
	cfg, err := loadConfig(files)
	if err != nil {
		return err
	}
	// Log lines are written in batches, at most 10 ms late, instead of
	// one write(2) per line (one per request with the access log).
	sink := logsink.New(stderr)
	defer sink.Close()
	// The same lines as slog's JSON handler, with less work per access
	// log line (logsink.NewJSONHandler).
	logger := slog.New(logsink.NewJSONHandler(sink, nil))
	a, err := app.New(ctx, cfg, app.Options{Role: *role, Logger: logger, Version: versionString()})
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
