package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/schollz/progressbar/v3"

	"github.com/atrium-portal/atrium/internal/app"
	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/config"
)

// importCatalog loads a folder of descriptors into the configured database.
func importCatalog(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("catalog import")
	var files stringList
	fs.Var(&files, "config", "configuration file naming the database (repeatable)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usagef("catalog import needs --config FILE naming the database to import into")
	}
	if len(pos) != 1 {
		return usagef("catalog import needs exactly one DIR, got %d", len(pos))
	}
	cfg, err := config.Load(files, config.Environ())
	if err != nil {
		return err
	}
	// The import is the only writer this run: no demo catalog, no server.
	cfg.Atrium.Demo = false
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.New(ctx, cfg, app.Options{Logger: logger, NoServer: true})
	if err != nil {
		return err
	}
	defer a.Close()

	bar := progressbar.NewOptions(-1,
		progressbar.OptionSetWriter(stderr),
		progressbar.OptionSetDescription("importing "+pos[0]),
		progressbar.OptionShowCount(),
		progressbar.OptionSetItsString("files"),
		progressbar.OptionShowIts(),
		progressbar.OptionClearOnFinish(),
	)
	err = a.Engine().Import(ctx, pos[0], func(done, total int) {
		if bar.GetMax() != total {
			bar.ChangeMax(total)
		}
		_ = bar.Set(done)
	})
	_ = bar.Finish()
	var problems catalog.Problems
	if errors.As(err, &problems) {
		for _, p := range problems {
			fmt.Fprintln(stdout, p.String())
		}
		fmt.Fprintf(stderr, "imported with %d problem(s)\n", len(problems))
		return errProblems
	}
	if err != nil {
		return err
	}
	counts, err := a.Store().EntityCount(ctx)
	if err != nil {
		return err
	}
	total := 0
	for _, n := range counts {
		total += n
	}
	fmt.Fprintf(stdout, "imported %s; the catalog now holds %d entities\n", pos[0], total)
	return nil
}
