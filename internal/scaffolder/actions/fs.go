package actions

import (
	"context"
	"io/fs"
	"os"
	"path"
	"sort"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/scaffolder"
)

func fsDelete() scaffolder.Action {
	return &action{
		id: "fs:delete", description: "Deletes files and directories from the workspace",
		in: schema(`{"type":"object","required":["files"],"properties":{
			"files":{"type":"array","items":{"type":"string"},"description":"Globs of files and folders to delete, relative to the workspace"}}}`),
		out: schema(noOutput),
		run: func(ctx context.Context, ac scaffolder.ActionContext) error {
			in, err := input[struct{ Files []string }](ac)
			if err != nil {
				return err
			}
			for _, g := range in.Files {
				rel, err := relPath("files", g)
				if err != nil {
					return err
				}
				matches, err := doublestar.Glob(ac.Workspace.FS(), rel, doublestar.WithNoFollow())
				if err != nil {
					return fault.Wrap(fault.Invalid, err, "fs:delete: glob %q", g)
				}
				for _, m := range matches {
					if err := ac.Workspace.RemoveAll(m); err != nil {
						return fault.Wrap(fault.Forbidden, err, "fs:delete %s", m)
					}
					ac.Logger.Info("deleted", "path", m)
				}
			}
			return nil
		},
	}
}

func fsRename() scaffolder.Action {
	return &action{
		id: "fs:rename", description: "Renames files and directories within the workspace",
		in: schema(`{"type":"object","required":["files"],"properties":{"files":{"type":"array","items":{
			"type":"object","required":["from","to"],"properties":{
			"from":{"type":"string"},"to":{"type":"string"},"overwrite":{"type":"boolean"}}}}}}`),
		out: schema(noOutput),
		run: func(ctx context.Context, ac scaffolder.ActionContext) error {
			in, err := input[struct {
				Files []struct {
					From, To  string
					Overwrite bool
				}
			}](ac)
			if err != nil {
				return err
			}
			for _, f := range in.Files {
				from, err := relPath("from", f.From)
				if err != nil {
					return err
				}
				to, err := relPath("to", f.To)
				if err != nil {
					return err
				}
				if _, err := ac.Workspace.Lstat(from); err != nil {
					return fault.New(fault.NotFound, "fs:rename: %s does not exist in the workspace", f.From)
				}
				if _, err := ac.Workspace.Lstat(to); err == nil && !f.Overwrite {
					return fault.New(fault.Conflict, "fs:rename: %s already exists (set overwrite: true)", f.To)
				}
				if dir := path.Dir(to); dir != "." {
					if err := ac.Workspace.MkdirAll(dir, 0o755); err != nil {
						return fault.Wrap(fault.Forbidden, err, "fs:rename: create %s", dir)
					}
				}
				if err := ac.Workspace.Rename(from, to); err != nil {
					return fault.Wrap(fault.Forbidden, err, "fs:rename %s to %s", f.From, f.To)
				}
				ac.Logger.Info("renamed", "from", from, "to", to)
			}
			return nil
		},
	}
}

// dirEntry is one entry of fs:readdir's output.
type dirEntry struct {
	Name     string `json:"name"`
	Path     string `json:"path"`
	FullPath string `json:"fullPath"`
}

func fsReaddir() scaffolder.Action {
	return &action{
		id: "fs:readdir", description: "Reads files and directories from the workspace",
		in: schema(`{"type":"object","required":["paths"],"properties":{
			"paths":{"type":"array","items":{"type":"string"}},"recursive":{"type":"boolean"}}}`),
		out: schema(`{"type":"object","properties":{"files":{"type":"array"},"folders":{"type":"array"}}}`),
		run: func(ctx context.Context, ac scaffolder.ActionContext) error {
			in, err := input[struct {
				Paths     []string
				Recursive bool
			}](ac)
			if err != nil {
				return err
			}
			files, folders := []dirEntry{}, []dirEntry{}
			for _, p := range in.Paths {
				rel, err := relPath("paths", p)
				if err != nil {
					return err
				}
				err = fs.WalkDir(ac.Workspace.FS(), rel, func(q string, e fs.DirEntry, err error) error {
					if err != nil {
						return err
					}
					if q == rel {
						return nil
					}
					de := dirEntry{Name: e.Name(), Path: q, FullPath: path.Join(ac.WorkspacePath, q)}
					if e.IsDir() {
						folders = append(folders, de)
						if !in.Recursive {
							return fs.SkipDir
						}
						return nil
					}
					files = append(files, de)
					return nil
				})
				if err != nil {
					if os.IsNotExist(err) {
						return fault.New(fault.NotFound, "fs:readdir: %s does not exist in the workspace", p)
					}
					return fault.Wrap(fault.Forbidden, err, "fs:readdir %s", p)
				}
			}
			sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
			sort.Slice(folders, func(i, j int) bool { return folders[i].Path < folders[j].Path })
			ac.Output("files", files)
			ac.Output("folders", folders)
			return nil
		},
	}
}
