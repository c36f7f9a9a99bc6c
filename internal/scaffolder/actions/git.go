package actions

import (
	"context"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/serverinfo"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/scaffolder"
	"github.com/atrium-portal/atrium/internal/scaffolder/tmpl"
)

// GitHost is Atrium's embedded source control: publish:git creates a git
// repository per (owner, repo) under Dir, and Handler serves each one
// read-only over git's dumb HTTP protocol, so `git clone
// <baseURL>/git/<owner>/<repo>.git` works with no git server.
type GitHost struct {
	// Dir holds one folder per repository: <Dir>/<owner>/<repo>, a
	// working tree with its .git.
	Dir string
	// BaseURL is Atrium's external URL (backend.baseUrl).
	BaseURL string
	// Author and Message default commit metadata (scaffolder.defaultAuthor,
	// scaffolder.defaultCommitMessage).
	AuthorName, AuthorEmail, Message string
}

var namePart = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

func validName(what, s string) error {
	if !namePart.MatchString(s) || strings.HasSuffix(s, ".git") || strings.Contains(s, "..") {
		return errorf("publish:git: %s %q must be letters, digits, '.', '_' or '-' (at most 100)", what, s)
	}
	return nil
}

func (g *GitHost) repoDir(owner, repo string) string {
	return filepath.Join(g.Dir, owner, repo)
}

// RemoteURL is the clone URL of a repository.
func (g *GitHost) RemoteURL(owner, repo string) string {
	return strings.TrimRight(g.BaseURL, "/") + "/git/" + owner + "/" + repo + ".git"
}

// ContentsURL is the browsable root of a repository's branch.
func (g *GitHost) ContentsURL(owner, repo, branch string) string {
	return strings.TrimRight(g.BaseURL, "/") + "/git/" + owner + "/" + repo + "/tree/" + branch
}

// LocalPath maps a file URL under ContentsURL to the file in the working
// tree, so catalog:register can register it as a file location.
func (g *GitHost) LocalPath(u string) (string, bool) {
	prefix := strings.TrimRight(g.BaseURL, "/") + "/git/"
	if !strings.HasPrefix(u, prefix) {
		return "", false
	}
	parts := strings.SplitN(strings.TrimPrefix(u, prefix), "/", 5)
	if len(parts) < 5 || parts[2] != "tree" || validName("owner", parts[0]) != nil || validName("repo", parts[1]) != nil {
		return "", false
	}
	rel, err := relPath("path", parts[4])
	if err != nil {
		return "", false
	}
	return filepath.Join(g.repoDir(parts[0], parts[1]), filepath.FromSlash(rel)), true
}

// PublishParams say what to publish.
type PublishParams struct {
	Owner, Repo, Branch, Message string
	// Source is the folder to commit (a workspace subfolder).
	Source *os.Root
}

// Publish creates the repository and commits Source's files into it.
func (g *GitHost) Publish(ctx context.Context, p PublishParams) (commit string, err error) {
	if err := validName("owner", p.Owner); err != nil {
		return "", err
	}
	if err := validName("repo", p.Repo); err != nil {
		return "", err
	}
	dir := g.repoDir(p.Owner, p.Repo)
	if _, err := os.Stat(dir); err == nil {
		return "", fault.New(fault.Conflict, "publish:git: repository %s/%s already exists", p.Owner, p.Repo)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", fault.Wrap(fault.Internal, err, "publish:git: create %s", filepath.Dir(dir))
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(dir)
		}
	}()
	repo, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{
		InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName(p.Branch)},
	})
	if err != nil {
		return "", fault.Wrap(fault.Internal, err, "publish:git: init %s", dir)
	}
	dst, err := os.OpenRoot(dir)
	if err != nil {
		return "", fault.Wrap(fault.Internal, err, "publish:git: open %s", dir)
	}
	defer dst.Close()
	err = fs.WalkDir(p.Source.FS(), ".", func(q string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if q == ".git" && e.IsDir() {
			return fs.SkipDir
		}
		if e.IsDir() {
			if q != "." {
				return dst.MkdirAll(q, 0o755)
			}
			return nil
		}
		if !e.Type().IsRegular() {
			return nil // symlinks are not published
		}
		data, err := p.Source.ReadFile(q)
		if err != nil {
			return err
		}
		mode := fs.FileMode(0o644)
		if info, err := e.Info(); err == nil && info.Mode().Perm()&0o111 != 0 {
			mode = 0o755
		}
		return dst.WriteFile(q, data, mode)
	})
	if err != nil {
		return "", fault.Wrap(fault.Internal, err, "publish:git: copy the workspace")
	}
	wt, err := repo.Worktree()
	if err != nil {
		return "", fault.Wrap(fault.Internal, err, "publish:git: worktree")
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		return "", fault.Wrap(fault.Internal, err, "publish:git: add files")
	}
	sig := &object.Signature{Name: g.AuthorName, Email: g.AuthorEmail, When: time.Now()}
	h, err := wt.Commit(p.Message, &git.CommitOptions{Author: sig, Committer: sig, AllowEmptyCommits: true})
	if err != nil {
		return "", fault.Wrap(fault.Internal, err, "publish:git: commit")
	}
	if err := serverinfo.UpdateServerInfo(repo.Storer, osfs.New(filepath.Join(dir, ".git"))); err != nil {
		return "", fault.Wrap(fault.Internal, err, "publish:git: update server info")
	}
	return h.String(), nil
}

// Handler serves the repositories read-only: the dumb HTTP protocol under
// /git/{owner}/{repo}.git/... and raw files under
// /git/{owner}/{repo}/tree/{branch}/{path}. Everything is read through
// os.Root, so no request path reaches outside a repository.
func (g *GitHost) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest := strings.TrimPrefix(r.URL.Path, "/git/")
		parts := strings.SplitN(rest, "/", 3)
		if len(parts) < 3 || validName("owner", parts[0]) != nil {
			http.NotFound(w, r)
			return
		}
		owner, repo, sub := parts[0], parts[1], parts[2]
		var base, file string
		switch {
		case strings.HasSuffix(repo, ".git"):
			repo = strings.TrimSuffix(repo, ".git")
			base, file = filepath.Join(g.repoDir(owner, repo), ".git"), sub
		case strings.HasPrefix(sub, "tree/"):
			seg := strings.SplitN(strings.TrimPrefix(sub, "tree/"), "/", 2)
			if len(seg) < 2 {
				http.NotFound(w, r)
				return
			}
			base, file = g.repoDir(owner, repo), seg[1]
			if strings.HasPrefix(file, ".git/") || file == ".git" {
				http.NotFound(w, r)
				return
			}
		default:
			http.NotFound(w, r)
			return
		}
		if validName("repo", repo) != nil {
			http.NotFound(w, r)
			return
		}
		rel, err := relPath("path", file)
		if err != nil || rel == "." {
			http.NotFound(w, r)
			return
		}
		root, err := os.OpenRoot(base)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer root.Close()
		f, err := root.Open(rel)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		info, err := f.Stat()
		if err != nil || info.IsDir() {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		if !strings.HasSuffix(repo+r.URL.Path, ".git") && strings.HasPrefix(sub, "tree/") {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		http.ServeContent(w, r, path.Base(rel), info.ModTime(), f)
	})
}

func publishGit(d Deps) scaffolder.Action {
	return &action{
		id: "publish:git", description: "Initializes a git repository of the workspace and publishes it on Atrium's embedded git host (read-only clone over HTTP).",
		in: schema(`{"type":"object","required":["repoUrl"],"properties":{
			"repoUrl":{"type":"string","description":"Repository location: host?owner=<owner>&repo=<repo> (the host is ignored: repositories live on Atrium)"},
			"defaultBranch":{"type":"string","description":"Defaults to main"},
			"sourcePath":{"type":"string","description":"Path within the workspace to publish; defaults to the workspace root"},
			"gitCommitMessage":{"type":"string"},"gitAuthorName":{"type":"string"},"gitAuthorEmail":{"type":"string"},
			"description":{"type":"string"}}}`),
		out: schema(`{"type":"object","properties":{"remoteUrl":{"type":"string"},"repoContentsUrl":{"type":"string"},"commitHash":{"type":"string"}}}`),
		run: func(ctx context.Context, ac scaffolder.ActionContext) error {
			in, err := input[struct {
				RepoURL          string `json:"repoUrl"`
				DefaultBranch    string `json:"defaultBranch"`
				SourcePath       string `json:"sourcePath"`
				GitCommitMessage string `json:"gitCommitMessage"`
				GitAuthorName    string `json:"gitAuthorName"`
				GitAuthorEmail   string `json:"gitAuthorEmail"`
			}](ac)
			if err != nil {
				return err
			}
			r, err := tmpl.ParseRepoURL(in.RepoURL)
			if err != nil {
				return fault.Wrap(fault.Invalid, err, "publish:git")
			}
			if r.Owner == "" {
				return errorf("publish:git: repoUrl %q needs an owner", in.RepoURL)
			}
			branch := in.DefaultBranch
			if branch == "" {
				branch = "main"
			}
			if err := validName("defaultBranch", branch); err != nil {
				return err
			}
			g := *d.Git
			if in.GitAuthorName != "" {
				g.AuthorName = in.GitAuthorName
			}
			if in.GitAuthorEmail != "" {
				g.AuthorEmail = in.GitAuthorEmail
			}
			msg := in.GitCommitMessage
			if msg == "" {
				msg = g.Message
			}
			ac.Output("remoteUrl", g.RemoteURL(r.Owner, r.Repo))
			ac.Output("repoContentsUrl", g.ContentsURL(r.Owner, r.Repo, branch))
			if ac.DryRun {
				ac.Logger.Info("dry run: would publish", "owner", r.Owner, "repo", r.Repo)
				ac.Output("commitHash", "0000000000000000000000000000000000000000")
				return nil
			}
			src, err := relPath("sourcePath", in.SourcePath)
			if err != nil {
				return err
			}
			sub, err := ac.Workspace.OpenRoot(src)
			if err != nil {
				return fault.Wrap(fault.NotFound, err, "publish:git: sourcePath %s", in.SourcePath)
			}
			defer sub.Close()
			commit, err := g.Publish(ctx, PublishParams{Owner: r.Owner, Repo: r.Repo, Branch: branch, Message: msg, Source: sub})
			if err != nil {
				return err
			}
			ac.Logger.Info("published", "remoteUrl", g.RemoteURL(r.Owner, r.Repo), "commit", commit)
			ac.Output("commitHash", commit)
			return nil
		},
	}
}

var _ scaffolder.Action = (*action)(nil)
