package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/engine"
)

// errProblems means the command ran and reported problems (exit code 1).
var errProblems = errors.New("problems found")

// validate checks descriptor files offline, as the server would process them.
func validate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("catalog validate")
	output := fs.String("output", "text", "output format: text or json")
	paths, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if *output != "text" && *output != "json" {
		return usagef("--output must be text or json, got %q", *output)
	}
	if len(paths) == 0 {
		return usagef("catalog validate needs at least one FILE or DIR")
	}
	problems, err := engine.ValidatePaths(paths, engine.DefaultLimits())
	if err != nil {
		return err
	}
	if *output == "json" {
		if problems == nil {
			problems = []catalog.Problem{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			Valid    bool              `json:"valid"`
			Problems []catalog.Problem `json:"problems"`
		}{len(problems) == 0, problems}); err != nil {
			return err
		}
	} else {
		for _, p := range problems {
			fmt.Fprintln(stdout, p.String())
		}
		if len(problems) > 0 {
			fmt.Fprintf(stderr, "%d problem(s) found\n", len(problems))
		}
	}
	if len(problems) > 0 {
		return errProblems
	}
	return nil
}
