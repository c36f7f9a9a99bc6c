package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/schollz/progressbar/v3"

	"github.com/atrium-portal/atrium/internal/app"
)

// backupCommand runs `atrium backup`: one backup of the configured
// database and data folder to a folder or Azure Blob Storage.
func backupCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("backup")
	var files stringList
	fs.Var(&files, "config", "configuration file naming the database (repeatable)")
	to := fs.String("to", "", "folder or azblob://account/container/prefix (default atrium.backup.to)")
	keep := fs.Int("keep", 0, "backups to keep, newest first (default atrium.backup.keep)")
	quiet := fs.Bool("quiet", false, "no progress bar")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 || len(pos) > 0 {
		return usagef("backup needs --config FILE and no arguments")
	}
	if *keep < 0 {
		return usagef("--keep must be at least 1, got %d", *keep)
	}
	a, err := openOffline(ctx, files, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	var progress io.Writer
	if !*quiet {
		bar := progressbar.NewOptions64(-1,
			progressbar.OptionSetWriter(stderr),
			progressbar.OptionSetDescription("backup"),
			progressbar.OptionShowBytes(true),
			progressbar.OptionClearOnFinish(),
		)
		defer bar.Finish()
		progress = bar
	}
	res, err := a.Backup(ctx, app.BackupOptions{To: *to, Keep: *keep, Trigger: app.TriggerCLI, Progress: progress})
	if res != nil {
		to := *to
		if to == "" {
			to = a.BackupTo()
		}
		fmt.Fprintf(stdout, "backup %s: %d bytes to %s (%s, schema version %d)\n", res.Name, res.Size, to, res.Manifest.Engine, res.Manifest.SchemaVersion)
		for _, n := range res.Pruned {
			fmt.Fprintf(stdout, "deleted old backup %s\n", n)
		}
	}
	return err
}

// openOffline opens the configured database without a server, for the
// commands that work on it directly.
func openOffline(ctx context.Context, files []string, stderr io.Writer) (*app.App, error) {
	cfg, err := loadConfig(files)
	if err != nil {
		return nil, err
	}
	cfg.Atrium.Demo = false
	cfg.Atrium.Secrets.GitCheck = false
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return app.New(ctx, cfg, app.Options{Logger: logger, NoServer: true, Version: versionString()})
}
