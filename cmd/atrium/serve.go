package main

import (
	"context"
	"errors"
	"io"
	"log/slog"

	"github.com/atrium-portal/atrium/internal/app"
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
	logger := slog.New(slog.NewJSONHandler(stderr, nil))
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
