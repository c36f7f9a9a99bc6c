package actions

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/internal/scaffolder"
	"github.com/atrium-portal/atrium/internal/scaffolder/tmpl"
)

// setup returns a template folder with a skeleton, a workspace, and an
// ActionContext runner for one action.
func setup(t *testing.T) (tplDir, wsDir string, run func(a scaffolder.Action, input map[string]any) error) {
	t.Helper()
	base := t.TempDir()
	tplDir = filepath.Join(base, "template")
	wsDir = filepath.Join(base, "workspace")
	for _, d := range []string{filepath.Join(tplDir, "skeleton", "sub"), wsDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(base, "secret.txt"), []byte("outside"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tplDir, "skeleton", "sub", "a.txt"), []byte("${{ values.name }}"), 0o644); err != nil {
		t.Fatal(err)
	}
	ws, err := os.OpenRoot(wsDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	d := Deps{Templates: tmpl.New(tmpl.Limits{}), MaxFileBytes: 1 << 20, MaxFiles: 100}
	_ = d
	run = func(a scaffolder.Action, input map[string]any) error {
		return a.Run(context.Background(), scaffolder.ActionContext{
			Input: input, Workspace: ws, WorkspacePath: wsDir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Output: func(string, any) {}, TemplateBaseURL: "file:" + tplDir + "/",
		})
	}
	return tplDir, wsDir, run
}

func TestPathEscapes(t *testing.T) {
	tplDir, wsDir, run := setup(t)
	d := Deps{Templates: tmpl.New(tmpl.Limits{}), MaxFileBytes: 1 << 20, MaxFiles: 100}
	// A symlink in the skeleton pointing outside the template's folder,
	// and one in the workspace pointing outside it.
	if err := os.Symlink(filepath.Join(tplDir, "..", "secret.txt"), filepath.Join(tplDir, "skeleton", "leak.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(tplDir, "evil", "${{ values.name }}"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tplDir, "evil", "${{ values.name }}", "x.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(tplDir, ".."), filepath.Join(wsDir, "out")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		action scaffolder.Action
		input  map[string]any
	}{
		{"targetPath ../", fetchPlain(d), map[string]any{"url": "./skeleton/sub", "targetPath": "../escape"}},
		{"targetPath absolute", fetchPlain(d), map[string]any{"url": "./skeleton/sub", "targetPath": "/tmp/escape"}},
		{"url outside the template", fetchPlain(d), map[string]any{"url": "../secret.txt"}},
		{"url with a scheme", fetchPlain(d), map[string]any{"url": "file:///etc/passwd"}},
		{"skeleton symlink out", fetchPlain(d), map[string]any{"url": "./skeleton"}},
		{"templated name ../", fetchTemplate(d), map[string]any{"url": "./evil", "values": map[string]any{"name": ".."}}},
		{"templated name absolute", fetchTemplate(d), map[string]any{"url": "./evil", "values": map[string]any{"name": "/../../x"}}},
		{"write through workspace symlink", fetchPlainFile(d), map[string]any{"url": "./skeleton/sub/a.txt", "targetPath": "out/written.txt"}},
		{"catalog:write through symlink", catalogWrite(), map[string]any{"entity": map[string]any{"kind": "x"}, "filePath": "out/catalog-info.yaml"}},
		{"fs:rename out", fsRename(), map[string]any{"files": []any{map[string]any{"from": "x", "to": "../x"}}}},
		{"fs:delete out", fsDelete(), map[string]any{"files": []any{"../secret.txt"}}},
		{"fs:readdir out", fsReaddir(), map[string]any{"paths": []any{"out/"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(tt.action, tt.input)
			if err == nil {
				t.Errorf("got no error, want the escape refused")
			}
		})
	}
	if _, err := os.Stat(filepath.Join(tplDir, "..", "secret.txt")); err != nil {
		t.Errorf("the file outside was removed: %v", err)
	}
	for _, p := range []string{filepath.Join(tplDir, "..", "escape"), filepath.Join(tplDir, "..", "written.txt"), filepath.Join(tplDir, "..", "catalog-info.yaml"), "/tmp/escape"} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s was written outside the workspace", p)
		}
	}
}

func TestFetchTemplate(t *testing.T) {
	tplDir, wsDir, run := setup(t)
	d := Deps{Templates: tmpl.New(tmpl.Limits{}), MaxFileBytes: 1 << 20, MaxFiles: 100}
	files := map[string]string{
		"${{ values.name }}/main.go":               "package ${{ values.name }}\n",
		"static/raw.txt":                           "${{ not rendered }}",
		"{% if values.docs %}docs{% endif %}/a.md": "docs",
		"bin.dat":  "\x00\x01${{ values.name }}",
		"page.njk": "${{ values.name }}",
	}
	for name, content := range files {
		p := filepath.Join(tplDir, "sk", name)
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	err := run(fetchTemplate(d), map[string]any{"url": "./sk", "targetPath": "out", "values": map[string]any{"name": "svc", "docs": false},
		"copyWithoutTemplating": []any{"static/**"}})
	if err != nil {
		t.Fatalf("fetch:template: %v", err)
	}
	want := map[string]string{
		"out/svc/main.go":    "package svc\n",
		"out/static/raw.txt": "${{ not rendered }}",
		"out/bin.dat":        "\x00\x01${{ values.name }}",
		"out/page.njk":       "svc",
	}
	for p, content := range want {
		got, err := os.ReadFile(filepath.Join(wsDir, p))
		if err != nil || string(got) != content {
			t.Errorf("%s: got %q, %v, want %q", p, got, err, content)
		}
	}
	if _, err := os.Stat(filepath.Join(wsDir, "out", "docs")); err == nil {
		t.Errorf("a folder whose name renders empty was written")
	}
	entries, _ := os.ReadDir(filepath.Join(wsDir, "out"))
	for _, e := range entries {
		if strings.Contains(e.Name(), "${{") || strings.EqualFold(e.Name(), "false") {
			t.Errorf("unrendered name %s", e.Name())
		}
	}
}
