package main

import (
	"context"
	"fmt"
	"io"

	"github.com/atrium-portal/atrium/internal/secrets"
)

// secretsCommand runs `atrium secrets rotate`.
func secretsCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "rotate" {
		return usagef("secrets needs a subcommand: rotate")
	}
	fs := newFlagSet("secrets rotate")
	var files stringList
	fs.Var(&files, "config", "configuration file naming the database and atrium.secrets.keys (repeatable)")
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	if len(files) == 0 || len(pos) > 0 {
		return usagef("secrets rotate needs --config FILE and no arguments")
	}
	a, err := openAudit(ctx, files, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	box, err := a.SecretBox()
	if err != nil {
		return err
	}
	reports, err := secrets.Rotate(ctx, box, a.SecretStores())
	for _, r := range reports {
		fmt.Fprintf(stdout, "%s: %d re-sealed with key %s, %d already current\n", r.Store, r.Resealed, box.CurrentKey(), r.Skipped)
	}
	return err
}
