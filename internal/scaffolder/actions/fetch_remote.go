package actions

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/url"
	"path"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/atrium-portal/atrium/internal/fault"
)

// ManifestName is the file that lists a folder served over plain HTTP:
// fetch:plain and fetch:template of a folder URL read
// <folder>/atrium-files.json, then each file it lists, through the URL
// reader (so backend.reading.allow applies). HTTP has no way to list a
// folder, hence the manifest. Its shape:
//
//	{"files": [{"path": "README.md"}, {"path": "bin/run.sh", "executable": true}]}
const ManifestName = "atrium-files.json"

// manifest is the content of ManifestName.
type manifest struct {
	Files []struct {
		Path       string `json:"path"`
		Executable bool   `json:"executable"`
	} `json:"files"`
}

// remoteFiles reads what an absolute fetch URL names. A URL on the
// embedded git host is read from the repository's committed tree, folder
// or file. Any other URL is read through the URL reader: for a folder
// (folder true) its manifest when it has one, else the URL as one file.
func (d Deps) remoteFiles(ctx context.Context, u string, folder bool) ([]file, error) {
	if d.Git != nil {
		if owner, repo, branch, rel, ok := d.Git.parseTreeURL(u); ok {
			return d.gitFiles(ctx, owner, repo, branch, rel)
		}
	}
	if folder {
		files, err := d.manifestFiles(ctx, u)
		if !errors.Is(err, errNoManifest) {
			return files, err
		}
	}
	data, err := d.readURL(ctx, u)
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > d.MaxFileBytes {
		return nil, fault.New(fault.Invalid, "fetch: %s is larger than %d bytes", u, d.MaxFileBytes)
	}
	return []file{{path: ".", data: data, mode: 0o644}}, nil
}

// errNoManifest marks the absence of a folder manifest (the URL is then
// read as one file).
var errNoManifest = errors.New("no folder manifest")

// manifestFiles reads the folder at base through its manifest.
func (d Deps) manifestFiles(ctx context.Context, base string) ([]file, error) {
	base = strings.TrimRight(base, "/")
	murl := base + "/" + ManifestName
	raw, err := d.readURL(ctx, murl)
	if fault.KindOf(err) == fault.NotFound {
		return nil, fault.Wrap(fault.NotFound, errNoManifest, "%s does not exist", murl)
	}
	if err != nil {
		return nil, err
	}
	var m manifest
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fault.New(fault.Invalid, "fetch: %s: %v (want {\"files\": [{\"path\": \"README.md\"}, …]})", murl, err)
	}
	if len(m.Files) > d.MaxFiles {
		return nil, fault.New(fault.Invalid, "fetch: %s lists %d files, more than the limit of %d (atrium.scaffolder.maxFetchFiles)", murl, len(m.Files), d.MaxFiles)
	}
	// Check every path before reading any file.
	rels := make([]string, len(m.Files))
	seen := map[string]bool{}
	for i, f := range m.Files {
		rel, err := relPath("path", f.Path)
		if err != nil || rel == "." || f.Path != rel {
			return nil, fault.New(fault.Invalid, "fetch: %s: files[%d].path %q must be a clean relative path inside the folder (no ./, .., or absolute paths)", murl, i, f.Path)
		}
		if seen[rel] {
			return nil, fault.New(fault.Invalid, "fetch: %s: files[%d].path %q is listed twice", murl, i, f.Path)
		}
		seen[rel] = true
		rels[i] = rel
	}
	out := make([]file, 0, len(m.Files))
	var total int64
	for i, f := range m.Files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		segs := strings.Split(rels[i], "/")
		for j, s := range segs {
			segs[j] = url.PathEscape(s)
		}
		furl := base + "/" + strings.Join(segs, "/")
		data, err := d.readURL(ctx, furl)
		if err != nil {
			return nil, fault.New(fault.KindOf(err), "fetch: files[%d] of %s: %s", i, murl, fault.MessageOf(err))
		}
		if int64(len(data)) > d.MaxFileBytes {
			return nil, fault.New(fault.Invalid, "fetch: %s is larger than %d bytes", furl, d.MaxFileBytes)
		}
		total += int64(len(data))
		if total > 20*d.MaxFileBytes {
			return nil, fault.New(fault.Invalid, "fetch: %s: more than %d bytes in total", murl, 20*d.MaxFileBytes)
		}
		mode := fs.FileMode(0o644)
		if f.Executable {
			mode = 0o755
		}
		out = append(out, file{path: rels[i], data: data, mode: mode})
	}
	return out, nil
}

// parseTreeURL splits a URL under ContentsURL,
// <baseUrl>/git/<owner>/<repo>/tree/<branch>[/<path>], into its parts.
func (g *GitHost) parseTreeURL(u string) (owner, repo, branch, rel string, ok bool) {
	prefix := strings.TrimRight(g.BaseURL, "/") + "/git/"
	if g.BaseURL == "" || !strings.HasPrefix(u, prefix) {
		return "", "", "", "", false
	}
	rest := strings.TrimPrefix(u, prefix)
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		rest = rest[:i]
	}
	parts := strings.SplitN(strings.TrimRight(rest, "/"), "/", 5)
	if len(parts) < 4 || parts[2] != "tree" || validName("owner", parts[0]) != nil || validName("repo", parts[1]) != nil || validName("branch", parts[3]) != nil {
		return "", "", "", "", false
	}
	rel = "."
	if len(parts) == 5 {
		p, err := url.PathUnescape(parts[4])
		if err != nil {
			return "", "", "", "", false
		}
		if rel, err = relPath("path", p); err != nil {
			return "", "", "", "", false
		}
	}
	return parts[0], parts[1], parts[3], rel, true
}

// gitFiles reads a folder or a file of a repository's branch on the
// embedded git host from its last commit (not the working tree).
// Symlinks and submodules are left out.
func (d Deps) gitFiles(ctx context.Context, owner, repo, branch, rel string) ([]file, error) {
	where := owner + "/" + repo + "@" + branch + ":" + rel
	r, err := git.PlainOpen(d.Git.repoDir(owner, repo))
	if err != nil {
		return nil, fault.Wrap(fault.NotFound, err, "fetch: repository %s/%s does not exist on Atrium's git host", owner, repo)
	}
	ref, err := r.Reference(plumbing.NewBranchReferenceName(branch), true)
	if err != nil {
		return nil, fault.Wrap(fault.NotFound, err, "fetch: repository %s/%s has no branch %s", owner, repo, branch)
	}
	commit, err := r.CommitObject(ref.Hash())
	if err != nil {
		return nil, fault.Wrap(fault.Internal, err, "fetch: %s", where)
	}
	tree, err := commit.Tree()
	if err != nil {
		return nil, fault.Wrap(fault.Internal, err, "fetch: %s", where)
	}
	if rel != "." {
		entry, err := tree.FindEntry(rel)
		if err != nil {
			return nil, fault.Wrap(fault.NotFound, err, "fetch: %s does not exist", where)
		}
		if entry.Mode != filemode.Dir {
			f, err := tree.TreeEntryFile(entry)
			if err != nil {
				return nil, fault.Wrap(fault.Internal, err, "fetch: %s", where)
			}
			one, err := d.gitFile(f, ".", where)
			if err != nil {
				return nil, err
			}
			return []file{one}, nil
		}
		if tree, err = tree.Tree(rel); err != nil {
			return nil, fault.Wrap(fault.Internal, err, "fetch: %s", where)
		}
	}
	var out []file
	var total int64
	err = tree.Files().ForEach(func(f *object.File) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if f.Mode != filemode.Regular && f.Mode != filemode.Executable && f.Mode != filemode.Deprecated {
			return nil
		}
		if len(out) >= d.MaxFiles {
			return fault.New(fault.Invalid, "fetch: %s holds more than %d files", where, d.MaxFiles)
		}
		one, err := d.gitFile(f, f.Name, where)
		if err != nil {
			return err
		}
		total += int64(len(one.data))
		if total > 20*d.MaxFileBytes {
			return fault.New(fault.Invalid, "fetch: %s: more than %d bytes in total", where, 20*d.MaxFileBytes)
		}
		out = append(out, one)
		return nil
	})
	if err != nil {
		if fault.KindOf(err) == fault.Internal {
			return nil, fault.Wrap(fault.Internal, err, "fetch: %s", where)
		}
		return nil, err
	}
	return out, nil
}

// gitFile reads one blob within the size limit.
func (d Deps) gitFile(f *object.File, name, where string) (file, error) {
	if name != "." {
		clean, err := relPath("path", name)
		if err != nil || clean != name {
			return file{}, fault.New(fault.Forbidden, "fetch: %s: %q is not a path inside the folder", where, name)
		}
	}
	if f.Size > d.MaxFileBytes {
		return file{}, fault.New(fault.Invalid, "fetch: %s: %s is larger than %d bytes", where, path.Clean(f.Name), d.MaxFileBytes)
	}
	rc, err := f.Reader()
	if err != nil {
		return file{}, fault.Wrap(fault.Internal, err, "fetch: %s: %s", where, f.Name)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, d.MaxFileBytes+1))
	if err != nil {
		return file{}, fault.Wrap(fault.Internal, err, "fetch: %s: %s", where, f.Name)
	}
	mode := fs.FileMode(0o644)
	if f.Mode == filemode.Executable {
		mode = 0o755
	}
	return file{path: name, data: data, mode: mode}, nil
}

// FetchFolder reads the folder at an absolute URL the way fetch:plain does
// — from the embedded git host's committed tree, or through the folder's
// atrium-files.json manifest with the URL reader (backend.reading.allow
// applies) — and returns its files by slash-separated relative path. A URL
// that is neither is an error: HTTP cannot list a folder.
func (d Deps) FetchFolder(ctx context.Context, folderURL string) (map[string][]byte, error) {
	files, err := d.remoteFiles(ctx, folderURL, true)
	if fault.KindOf(err) == fault.NotFound {
		return nil, fault.Wrap(fault.NotFound, err, "%s is not a folder Atrium can list (%s): serve it from Atrium's git host, or add an %s manifest listing its files", folderURL, fault.MessageOf(err), ManifestName)
	}
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(files))
	for _, f := range files {
		if f.path == "." {
			return nil, fault.New(fault.NotFound, "%s is not a folder Atrium can list: serve it from Atrium's git host, or add an %s manifest", folderURL, ManifestName)
		}
		out[f.path] = f.data
	}
	return out, nil
}
