package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

const usage = `Usage:
  atrium                                   serve with the embedded default configuration
  atrium serve [--config FILE]...          serve; later --config files override earlier ones
  atrium catalog validate [--output text|json] FILE|DIR...
                                           validate descriptors offline; exit 1 on problems
  atrium catalog import --config FILE [--config FILE]... DIR
                                           load a folder of descriptors into the configured database
  atrium token create --config FILE (--user REF | --service NAME) --name TEXT [--scope S]... [--expires 30d]
                                           create an API token; prints it once
  atrium token list --config FILE [--user REF | --service NAME] [--revoked]
  atrium token revoke --config FILE ID     revoke an API token
  atrium audit verify --config FILE [--json]
                                           check the audit log's hash chain; exit 1 naming the first bad record
  atrium audit export --config FILE [--out FILE] [--since T] [--until T] [--actor REF] [--outcome O]
                                           write audit records as JSON Lines, oldest first
  atrium secrets rotate --config FILE      re-seal stored secrets with the newest atrium.secrets.keys key
  atrium policy test [--admin REF]... POLICY.yaml CASES.yaml
                                           check a policy against expected decisions; exit 1 on a mismatch
  atrium policy refresh --url URL [--token-env VAR]
                                           make a running Atrium read its policy files and URLs again
  atrium template dry-run TEMPLATE.yaml [--values VALUES.yaml] [--out DIR]
                                           run a software template without publishing; print its log
  atrium plugin search [TEXT] | info ID | install ID[@VERSION] | upgrade ID | remove ID | list [--config FILE]...
                                           find, inspect and manage external plugins (atrium.pluginHost.registry);
                                           a running server applies install/upgrade/remove without a restart
  atrium backup --config FILE [--to DIR|URL] [--keep N] [--quiet]
                                           back up the database and data folder (atrium.backup.to by default)
  atrium restore --config FILE [--from DIR|URL] [--backup NAME] [--yes] [--quiet]
                                           verify a backup (the newest by default) and restore it
  atrium version                           print the version, the commit and the Go version
  atrium help                              print this help

Environment: APP_CONFIG_<path>=<value> overrides one configuration key
(APP_CONFIG_backend_listen_port=8080); ${VAR} in configuration files is substituted.
`

// errUsage marks errors caused by how the command was called (exit code 2).
var errUsage = errors.New("usage")

type usageError struct{ msg string }

func (e usageError) Error() string        { return e.msg }
func (e usageError) Is(target error) bool { return target == errUsage }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// run dispatches to a subcommand and returns the process exit code: 0 on
// success, 1 when the command ran and failed, 2 for a usage error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	err := dispatch(ctx, args, stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usage)
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "atrium: %v\n\n%s", err, usage)
		return 2
	case errors.Is(err, errProblems):
		return 1
	}
	fmt.Fprintf(stderr, "atrium: %v\n", err)
	return 1
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return serve(ctx, nil, stderr)
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stderr)
	case "catalog":
		if len(args) < 2 {
			return usagef("catalog needs a subcommand: validate or import")
		}
		switch args[1] {
		case "validate":
			return validate(ctx, args[2:], stdout, stderr)
		case "import":
			return importCatalog(ctx, args[2:], stdout, stderr)
		}
		return usagef("unknown catalog subcommand %q (want validate or import)", args[1])
	case "token":
		return token(ctx, args[1:], stdout, stderr)
	case "audit":
		return auditCommand(ctx, args[1:], stdout, stderr)
	case "secrets":
		return secretsCommand(ctx, args[1:], stdout, stderr)
	case "plugin":
		return pluginCommand(ctx, args[1:], stdout, stderr)
	case "template":
		return templateCmd(ctx, args[1:], stdout, stderr)
	case "policy":
		return policyCommand(ctx, args[1:], stdout, stderr)
	case "backup":
		return backupCommand(ctx, args[1:], stdout, stderr)
	case "restore":
		return restoreCommand(ctx, args[1:], stdout, stderr)
	case "version", "--version", "-version":
		return version(stdout)
	case "help", "--help", "-help", "-h":
		return flag.ErrHelp
	}
	return usagef("unknown command %q", args[0])
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// parseInterspersed parses flags that may appear before, between or after
// positional arguments, and returns the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usagef("%v", err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}
