package actions

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/scaffolder"
	"github.com/atrium-portal/atrium/internal/scaffolder/tmpl"
)

// remoteRun runs an action in a fresh workspace for a template whose
// location is base, and returns the workspace's folder.
func remoteRun(t *testing.T, d Deps, base string, a scaffolder.Action, input map[string]any) (string, error) {
	t.Helper()
	dir := t.TempDir()
	ws, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	return dir, a.Run(context.Background(), scaffolder.ActionContext{
		Input: input, Workspace: ws, WorkspacePath: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Output: func(string, any) {}, TemplateBaseURL: base,
	})
}

func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		info, _ := e.Info()
		if info.Mode().Perm()&0o100 != 0 {
			rel += " (x)"
		}
		out[filepath.ToSlash(rel)] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func eqTree(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %v, want %v", what, got, want)
		return
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s: got %q, want %q (tree %v)", what, k, got[k], v, got)
		}
	}
}

// TestFetchFolderOverHTTP fetches a template's skeleton folder from a
// plain HTTP server through its atrium-files.json manifest.
func TestFetchFolderOverHTTP(t *testing.T) {
	site := map[string]string{
		"/tpl/skeleton/atrium-files.json":         `{"files":[{"path":"README.md"},{"path":"bin/run.sh","executable":true},{"path":"src/${{ values.name }}.go"}]}`,
		"/tpl/skeleton/README.md":                 "# ${{ values.name }}\n",
		"/tpl/skeleton/bin/run.sh":                "#!/bin/sh\necho ${{ values.name }}\n",
		"/tpl/skeleton/src/${{ values.name }}.go": "package ${{ values.name }}\n",
		"/tpl/bad/atrium-files.json":              `{"files":[{"path":"../secret"}]}`,
		"/tpl/missing/atrium-files.json":          `{"files":[{"path":"gone.txt"}]}`,
		"/tpl/unknown/atrium-files.json":          `{"entries":[]}`,
		"/tpl/one.txt":                            "just ${{ values.name }}\n",
		"/tpl/many/atrium-files.json":             `{"files":[{"path":"a"},{"path":"b"},{"path":"c"}]}`,
		"/tpl/dup/atrium-files.json":              `{"files":[{"path":"a"},{"path":"a"}]}`,
		"/tpl/dotted/atrium-files.json":           `{"files":[{"path":"./a"}]}`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := site[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = io.WriteString(w, body)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	d := Deps{Templates: tmpl.New(tmpl.Limits{}), MaxFileBytes: 1 << 20, MaxFiles: 3,
		URLReader: &engine.URLReader{Allow: []engine.AllowedHost{{Host: host}}}}
	base := "url:" + srv.URL + "/tpl/"

	dir, err := remoteRun(t, d, base, fetchTemplate(d), map[string]any{"url": "./skeleton", "targetPath": "out", "values": map[string]any{"name": "demo"}})
	if err != nil {
		t.Fatalf("fetch:template of a manifest folder: %v", err)
	}
	eqTree(t, "fetch:template", readTree(t, dir), map[string]string{
		"out/README.md":      "# demo\n",
		"out/bin/run.sh (x)": "#!/bin/sh\necho demo\n",
		"out/src/demo.go":    "package demo\n",
	})
	dir, err = remoteRun(t, d, base, fetchPlain(d), map[string]any{"url": "./skeleton"})
	if err != nil {
		t.Fatalf("fetch:plain of a manifest folder: %v", err)
	}
	if got := readTree(t, dir)["README.md"]; got != "# ${{ values.name }}\n" {
		t.Errorf("fetch:plain README.md: got %q, want it unrendered", got)
	}
	// Without a manifest, the URL is one file.
	dir, err = remoteRun(t, d, base, fetchTemplate(d), map[string]any{"url": "./one.txt", "values": map[string]any{"name": "x"}})
	if err != nil {
		t.Fatalf("fetch:template of one file: %v", err)
	}
	eqTree(t, "one file", readTree(t, dir), map[string]string{"one.txt": "just x\n"})

	for _, tt := range []struct{ url, want string }{
		{"./bad", `files[0].path "../secret" must be a clean relative path`},
		{"./dotted", `files[0].path "./a" must be a clean relative path`},
		{"./dup", `files[1].path "a" is listed twice`},
		{"./missing", "files[0] of " + srv.URL + "/tpl/missing/atrium-files.json: " + srv.URL + "/tpl/missing/gone.txt does not exist (HTTP 404)"},
		{"./unknown", `unknown field "entries"`},
		{"./nothing", "does not exist (HTTP 404)"},
	} {
		_, err := remoteRun(t, d, base, fetchPlain(d), map[string]any{"url": tt.url})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("fetch:plain %s: got %v, want an error saying %q", tt.url, err, tt.want)
		}
	}
	d.MaxFiles = 2
	if _, err := remoteRun(t, d, base, fetchPlain(d), map[string]any{"url": "./many"}); err == nil || !strings.Contains(err.Error(), "more than the limit of 2") {
		t.Errorf("fetch:plain of too many files: got %v", err)
	}
	// The allow list applies to the manifest and the files alike.
	closed := d
	closed.URLReader = &engine.URLReader{Allow: []engine.AllowedHost{{Host: "example.com"}}}
	if _, err := remoteRun(t, closed, base, fetchPlain(closed), map[string]any{"url": "./skeleton"}); fault.KindOf(err) != fault.Forbidden || !strings.Contains(err.Error(), "backend.reading.allow") {
		t.Errorf("fetch from a host not allowed: got %v, want Forbidden naming backend.reading.allow", err)
	}
}

// TestFetchFromGitHost fetches a folder and a file of a template that
// lives in a repository of the embedded git host, read from the committed
// tree (not the working tree).
func TestFetchFromGitHost(t *testing.T) {
	git := &GitHost{Dir: t.TempDir(), BaseURL: "http://atrium.test:7007", AuthorName: "t", AuthorEmail: "t@x", Message: "init"}
	src := t.TempDir()
	for name, content := range map[string]string{
		"template.yaml":                      "kind: Template\n",
		"skeleton/README.md":                 "# ${{ values.name }}\n",
		"skeleton/src/${{ values.name }}.go": "package ${{ values.name }}\n",
		"skeleton/run.sh":                    "#!/bin/sh\n",
	} {
		p := filepath.Join(src, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	root, err := os.OpenRoot(src)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if _, err := git.Publish(context.Background(), PublishParams{Owner: "platform", Repo: "templates", Branch: "main", Message: "init", Source: root}); err != nil {
		t.Fatal(err)
	}
	// An uncommitted change in the working tree is not what is served.
	if err := os.WriteFile(filepath.Join(git.repoDir("platform", "templates"), "skeleton", "README.md"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := Deps{Templates: tmpl.New(tmpl.Limits{}), MaxFileBytes: 1 << 20, MaxFiles: 100, Git: git,
		URLReader: &engine.URLReader{}} // no host allowed: the git host is read from disk
	base := "url:" + git.ContentsURL("platform", "templates", "main") + "/"

	dir, err := remoteRun(t, d, base, fetchTemplate(d), map[string]any{"url": "./skeleton", "values": map[string]any{"name": "svc"}})
	if err != nil {
		t.Fatalf("fetch:template from the git host: %v", err)
	}
	eqTree(t, "git folder", readTree(t, dir), map[string]string{"README.md": "# svc\n", "src/svc.go": "package svc\n", "run.sh (x)": "#!/bin/sh\n"})
	dir, err = remoteRun(t, d, base, fetchPlainFile(d), map[string]any{"url": "./skeleton/README.md", "targetPath": "copy.md"})
	if err != nil {
		t.Fatalf("fetch:plain:file from the git host: %v", err)
	}
	eqTree(t, "git file", readTree(t, dir), map[string]string{"copy.md": "# ${{ values.name }}\n"})
	dir, err = remoteRun(t, d, "url:"+git.ContentsURL("platform", "templates", "main")+"/skeleton/", fetchPlain(d), map[string]any{"url": "../template.yaml"})
	if err != nil {
		t.Fatalf("fetch:plain of ../template.yaml: %v", err)
	}
	eqTree(t, "parent file", readTree(t, dir), map[string]string{"template.yaml": "kind: Template\n"})

	for _, tt := range []struct{ base, url, want string }{
		{base, "./nothing", "does not exist"},
		{"url:" + git.ContentsURL("platform", "nope", "main") + "/", "./skeleton", "repository platform/nope does not exist"},
		{"url:" + git.ContentsURL("platform", "templates", "dev") + "/", "./skeleton", "has no branch dev"},
	} {
		_, err := remoteRun(t, d, tt.base, fetchPlain(d), map[string]any{"url": tt.url})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("fetch %s from %s: got %v, want %q", tt.url, tt.base, err, tt.want)
		}
	}
	owner, repo, branch, rel, ok := git.parseTreeURL(git.ContentsURL("platform", "templates", "main") + "/a%20b/c.txt")
	if !ok || owner != "platform" || repo != "templates" || branch != "main" || rel != "a b/c.txt" {
		t.Errorf("parseTreeURL: got %q %q %q %q %v", owner, repo, branch, rel, ok)
	}
	for _, u := range []string{"http://atrium.test:7007/git/platform/templates/tree/main/../../x", "http://other/git/a/b/tree/main/x", "http://atrium.test:7007/git/platform/templates.git/info/refs"} {
		if _, _, _, rel, ok := git.parseTreeURL(u); ok && strings.Contains(rel, "..") {
			t.Errorf("parseTreeURL(%s): got %q, want it refused", u, rel)
		} else if ok && !strings.HasPrefix(u, "http://atrium.test:7007/git/platform/templates/tree/") {
			t.Errorf("parseTreeURL(%s): accepted", u)
		}
	}
}
