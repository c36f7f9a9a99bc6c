package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/atrium-portal/atrium/plugin"
)

// Greet is the action hello:greet: it writes a greeting into a file of
// the workspace and outputs it.
type Greet struct {
	greeting string
}

var _ plugin.Action = (*Greet)(nil)

func (g *Greet) ID() string { return "hello:greet" }

func (g *Greet) Description() string {
	return "Writes a greeting for someone into a file of the workspace and outputs it."
}

func (g *Greet) Schema() (json.RawMessage, json.RawMessage) {
	return json.RawMessage(`{
  "type": "object",
  "required": ["name"],
  "properties": {
    "name": {"type": "string", "minLength": 1, "description": "who to greet"},
    "file": {"type": "string", "description": "file in the workspace to write (default hello.txt)"},
    "waitSeconds": {"type": "number", "minimum": 0, "maximum": 60, "description": "wait this long first (to demonstrate cancellation)"}
  }
}`), json.RawMessage(`{
  "type": "object",
  "properties": {
    "greeting": {"type": "string"},
    "path": {"type": "string"}
  }
}`)
}

func (g *Greet) Run(ctx context.Context, req plugin.ActionRequest, rep plugin.ActionReporter) error {
	name, _ := req.Input["name"].(string)
	if name == "" {
		return plugin.Errorf(plugin.ErrInvalid, "input.name: required, a non-empty string")
	}
	file := "hello.txt"
	if f, ok := req.Input["file"].(string); ok && f != "" {
		file = f
	}
	if !filepath.IsLocal(file) {
		return plugin.Errorf(plugin.ErrInvalid, "input.file: %q is not a path inside the workspace", file)
	}
	if w, ok := req.Input["waitSeconds"].(float64); ok && w > 0 {
		rep.Log("info", fmt.Sprintf("waiting %gs", w))
		select {
		case <-time.After(time.Duration(w * float64(time.Second))):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	rep.Progress(50, "greeting")
	greeting := g.greeting + ", " + name + "!"
	root, err := os.OpenRoot(req.Workspace)
	if err != nil {
		return plugin.Errorf(plugin.ErrInternal, "opening the workspace: %w", err)
	}
	defer root.Close()
	if dir := filepath.Dir(file); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return plugin.Errorf(plugin.ErrInternal, "creating %s: %w", dir, err)
		}
	}
	if req.DryRun {
		rep.Log("info", "dry run: not writing "+file)
	} else if err := root.WriteFile(file, []byte(greeting+"\n"), 0o644); err != nil {
		return plugin.Errorf(plugin.ErrInternal, "writing %s: %w", file, err)
	}
	rep.Log("info", "wrote "+file)
	rep.Output("greeting", greeting)
	rep.Output("path", file)
	rep.Progress(100, "done")
	return nil
}
