package gitlab

import (
	"encoding/base64"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"unicode/utf8"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	client "github.com/atrium-portal/atrium/internal/integrations/gitlab"
	"github.com/atrium-portal/atrium/plugin"
)

// file is a file of the workspace to commit.
type file struct {
	Path       string
	Data       []byte
	Executable bool
}

// readTree reads every regular file under dir of the workspace (sourcePath
// "" is the whole workspace), refusing escapes, within the commit limits.
// .git directories are left out.
func (p *Plugin) readTree(id, workspace, sourcePath string) ([]file, error) {
	root, err := os.OpenRoot(workspace)
	if err != nil {
		return nil, plugin.Errorf(plugin.ErrInternal, "%s: opening the workspace: %v", id, err)
	}
	defer root.Close()
	src := path.Clean("/" + strings.ReplaceAll(sourcePath, "\\", "/"))[1:]
	if src == "" {
		src = "."
	}
	if sourcePath != "" && (strings.HasPrefix(sourcePath, "/") || strings.HasPrefix(path.Clean(sourcePath), "..")) {
		return nil, errorf(id, "sourcePath %q must be a path inside the workspace", sourcePath)
	}
	sub, err := root.OpenRoot(src)
	if err != nil {
		return nil, errorf(id, "sourcePath %q is not a directory of the workspace", sourcePath)
	}
	defer sub.Close()
	var files []file
	var total int64
	err = fs.WalkDir(sub.FS(), ".", func(p2 string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if len(files) >= p.cfg.MaxCommitFiles {
			return errorf(id, "the workspace has more than %d files to commit (plugins.gitlab.config.maxCommitFiles)", p.cfg.MaxCommitFiles)
		}
		total += info.Size()
		if total > p.cfg.MaxCommitBytes {
			return errorf(id, "the workspace has more than %d bytes to commit (plugins.gitlab.config.maxCommitBytes)", p.cfg.MaxCommitBytes)
		}
		data, err := fs.ReadFile(sub.FS(), p2)
		if err != nil {
			return err
		}
		files = append(files, file{Path: p2, Data: data, Executable: info.Mode()&0o111 != 0})
		return nil
	})
	if err != nil {
		if _, ok := err.(*plugin.Error); ok {
			return nil, err
		}
		return nil, plugin.Errorf(plugin.ErrInternal, "%s: reading the workspace: %v", id, err)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, nil
}

// commitAction is one action of the Commits API for f at repoPath.
func commitAction(kind gl.FileActionValue, repoPath string, f *file) *gl.CommitActionOptions {
	a := &gl.CommitActionOptions{Action: gl.Ptr(kind), FilePath: gl.Ptr(repoPath)}
	if f == nil {
		return a
	}
	if utf8.Valid(f.Data) {
		a.Content = gl.Ptr(string(f.Data))
	} else {
		a.Content = gl.Ptr(base64.StdEncoding.EncodeToString(f.Data))
		a.Encoding = gl.Ptr("base64")
	}
	if f.Executable {
		a.ExecuteFilemode = gl.Ptr(true)
	}
	return a
}

// blobIDs maps each file of the tree at ref of project pid to its blob id;
// a missing branch gives an empty map and ok false.
func treeBlobs(c *client.Client, ctxOpt gl.RequestOptionFunc, pid any, ref string) (map[string]string, bool, error) {
	nodes, err := client.Pages(0, func(page int64) ([]*gl.TreeNode, *gl.Response, error) {
		return c.API.Repositories.ListTree(pid, &gl.ListTreeOptions{Ref: gl.Ptr(ref), Recursive: gl.Ptr(true),
			ListOptions: gl.ListOptions{Page: page, PerPage: 100}}, ctxOpt)
	})
	if client.IsNotFound(err) {
		return map[string]string{}, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	out := map[string]string{}
	for _, n := range nodes {
		if n.Type == "blob" {
			out[n.Path] = n.ID
		}
	}
	return out, true, nil
}
