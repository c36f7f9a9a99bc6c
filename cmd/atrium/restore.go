package main

import (
	"context"
	"fmt"
	"io"

	"github.com/schollz/progressbar/v3"

	"github.com/atrium-portal/atrium/internal/app"
)

// restoreCommand runs `atrium restore`: verify a backup, then replace the
// configured database's content and the data folder's files with it.
func restoreCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("restore")
	var files stringList
	fs.Var(&files, "config", "configuration file naming the database (repeatable)")
	from := fs.String("from", "", "folder or azblob://account/container/prefix (default atrium.backup.to)")
	name := fs.String("backup", "", "backup to restore, atrium-backup-<time>.tar.gz (default the newest)")
	yes := fs.Bool("yes", false, "restore even though a server is running on the database")
	quiet := fs.Bool("quiet", false, "no progress bar")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 || len(pos) > 0 {
		return usagef("restore needs --config FILE and no arguments")
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
			progressbar.OptionSetDescription("verifying"),
			progressbar.OptionShowBytes(true),
			progressbar.OptionClearOnFinish(),
		)
		defer bar.Finish()
		progress = bar
	}
	m, err := a.Restore(ctx, app.RestoreOptions{From: *from, Backup: *name, Yes: *yes, Progress: progress})
	if err != nil {
		return err
	}
	var entities int64
	if n := m.Rows("entities"); n > 0 {
		entities = n
	}
	fmt.Fprintf(stdout, "restored the backup of %s (atrium %s, schema version %d, %d entities); run `atrium audit verify` to check the audit chain\n",
		m.Created.Format("2006-01-02 15:04:05 UTC"), m.AtriumVersion, m.SchemaVersion, entities)
	return nil
}
