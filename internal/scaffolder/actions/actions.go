// Package actions holds the scaffolder's built-in actions: fetch:*, fs:*,
// debug:*, catalog:* and publish:git. Builtins returns them all; each
// resolves every path through the task workspace's os.Root, so no input
// (a targetPath, a templated file name, a symlink) reaches outside it.
package actions

import (
	"context"
	"encoding/json"
	"path"
	"strings"

	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/scaffolder"
	"github.com/atrium-portal/atrium/internal/scaffolder/tmpl"
)

// Deps are the services built-in actions use.
type Deps struct {
	// Catalog registers and reads entities (catalog:*).
	Catalog engine.Catalog
	// Templates renders fetch:template files.
	Templates *tmpl.Engine
	// URLReader reads http(s) sources (fetch:*:file with absolute URLs).
	URLReader engine.Reader
	// MaxFileBytes bounds one fetched file; MaxFiles the files of one fetch.
	MaxFileBytes int64
	MaxFiles     int
	// Git publishes workspaces (publish:git); nil leaves the action out.
	Git *GitHost
}

// Builtins returns every built-in action.
func Builtins(d Deps) []scaffolder.Action {
	if d.MaxFileBytes <= 0 {
		d.MaxFileBytes = 10 << 20
	}
	if d.MaxFiles <= 0 {
		d.MaxFiles = 5000
	}
	out := []scaffolder.Action{
		fetchPlain(d), fetchPlainFile(d), fetchTemplate(d), fetchTemplateFile(d),
		fsDelete(), fsRename(), fsReaddir(), debugLog(), debugWait(),
		catalogRegister(d), catalogWrite(), catalogFetch(d),
	}
	if d.Git != nil {
		out = append(out, publishGit(d))
	}
	return out
}

// action is a built-in action defined by its parts.
type action struct {
	id, description string
	in, out         json.RawMessage
	run             func(ctx context.Context, ac scaffolder.ActionContext) error
}

func (a *action) ID() string                                 { return a.id }
func (a *action) Description() string                        { return a.description }
func (a *action) Schema() (json.RawMessage, json.RawMessage) { return a.in, a.out }
func (a *action) Run(ctx context.Context, ac scaffolder.ActionContext) error {
	return a.run(ctx, ac)
}

// input decodes the step input into a struct.
func input[T any](ac scaffolder.ActionContext) (T, error) {
	var v T
	raw, err := json.Marshal(ac.Input)
	if err != nil {
		return v, fault.Wrap(fault.Invalid, err, "input")
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, fault.Wrap(fault.Invalid, err, "input")
	}
	return v, nil
}

// relPath turns a user-given path into a clean path relative to the
// workspace, refusing absolute paths and any that climb out of it. The
// workspace's os.Root refuses escapes too (including through symlinks);
// this gives the clearer error first.
func relPath(what, p string) (string, error) {
	if p == "" {
		return ".", nil
	}
	if strings.HasPrefix(p, "/") || strings.HasPrefix(p, "\\") || (len(p) > 1 && p[1] == ':') {
		return "", fault.New(fault.Invalid, "%s %q: absolute paths are not allowed; paths are relative to the workspace", what, p)
	}
	clean := path.Clean(strings.ReplaceAll(p, "\\", "/"))
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fault.New(fault.Invalid, "%s %q resolves outside the workspace", what, p)
	}
	return clean, nil
}

func schema(s string) json.RawMessage { return json.RawMessage(s) }

func errorf(format string, args ...any) error {
	return fault.New(fault.Invalid, format, args...)
}
