package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/atrium-portal/atrium/internal/app"
	"github.com/atrium-portal/atrium/internal/audit"
	"github.com/atrium-portal/atrium/internal/config"
	"github.com/atrium-portal/atrium/internal/secrets"
)

// auditCommand runs `atrium audit verify|export`.
func auditCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("audit needs a subcommand: verify or export")
	}
	switch args[0] {
	case "verify":
		return auditVerify(ctx, args[1:], stdout, stderr)
	case "export":
		return auditExport(ctx, args[1:], stdout, stderr)
	}
	return usagef("unknown audit subcommand %q (want verify or export)", args[0])
}

// openAudit opens the configured database without a server.
func openAudit(ctx context.Context, files []string, stderr io.Writer) (*app.App, error) {
	cfg, err := loadConfig(files)
	if err != nil {
		return nil, err
	}
	cfg.Atrium.Demo = false
	cfg.Atrium.Secrets.GitCheck = false
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return app.New(ctx, cfg, app.Options{Logger: logger, NoServer: true})
}

// loadConfig loads configuration files, resolving ${vault:…} references
// through Vault (VAULT_ADDR, VAULT_TOKEN) when a file has any.
func loadConfig(files []string) (*config.Config, error) {
	var v *secrets.Vault
	resolve := func(kind, ref string) (string, error) {
		if v == nil {
			var err error
			if v, err = secrets.NewVault(secrets.VaultConfig{}); err != nil {
				return "", err
			}
		}
		return secrets.NewResolver(nil, v)(context.Background(), kind, ref)
	}
	return config.LoadWith(files, config.Options{Env: config.Environ(), Resolve: resolve})
}

func auditVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("audit verify")
	var files stringList
	fs.Var(&files, "config", "configuration file naming the database (repeatable)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 || len(pos) > 0 {
		return usagef("audit verify needs --config FILE and no arguments")
	}
	a, err := openAudit(ctx, files, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	rep, err := a.Audit().Verify(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
	} else if rep.OK() {
		fmt.Fprintf(stdout, "audit log intact: %d records checked (%d to %d)", rep.Checked, rep.First, rep.Last)
		if rep.Pruned > 0 {
			fmt.Fprintf(stdout, "; %d older records pruned behind a valid checkpoint", rep.Pruned)
		}
		fmt.Fprintln(stdout)
	} else {
		fmt.Fprintf(stdout, "audit log TAMPERED: record %d: %s\n", rep.Problem.Seq, rep.Problem.Reason)
	}
	if !rep.OK() {
		return errProblems
	}
	return nil
}

func auditExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("audit export")
	var files stringList
	fs.Var(&files, "config", "configuration file naming the database (repeatable)")
	out := fs.String("out", "-", "file to write (- for standard output)")
	since := fs.String("since", "", "only records at or after this RFC 3339 time")
	until := fs.String("until", "", "only records before this RFC 3339 time")
	actor := fs.String("actor", "", "only records of this actor ref")
	outcome := fs.String("outcome", "", "only records with this outcome")
	max := fs.Int("max", 1_000_000, "fail when more records match")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 || len(pos) > 0 {
		return usagef("audit export needs --config FILE and no arguments")
	}
	vals := map[string][]string{"actor": {*actor}, "outcome": {*outcome}, "from": {*since}, "to": {*until}}
	q, err := audit.ParseQuery(vals, 1)
	if err != nil {
		return usagef("%v", err)
	}
	a, err := openAudit(ctx, files, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	var w io.Writer = stdout
	if *out != "-" {
		f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriter(w)
	start := time.Now()
	n, err := a.Audit().Export(ctx, q, *max, bw)
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "exported %d audit records in %s\n", n, time.Since(start).Round(time.Millisecond))
	return nil
}
