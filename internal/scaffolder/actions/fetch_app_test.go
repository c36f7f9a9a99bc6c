package actions_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/app/apptest"
	"github.com/atrium-portal/atrium/internal/scaffolder/actions"
)

const remoteTemplate = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: { name: %s }
spec:
  type: service
  parameters: { properties: { name: { type: string, default: remote } } }
  steps:
    - id: fetch
      action: fetch:template
      input: { url: ./skeleton, values: { name: '${{ parameters.name }}' } }
    - id: list
      action: debug:log
      input: { listWorkspace: true }
`

func call(t *testing.T, base, method, path string, body any, want int, out any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		r = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, base+path, r)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("%s %s: got %d %s, want %d", method, path, res.StatusCode, data, want)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// runTask creates a task and returns its log once it completes.
func runTask(t *testing.T, base, ref string) string {
	t.Helper()
	var created struct{ ID string }
	call(t, base, "POST", "/api/scaffolder/v2/tasks", map[string]any{"templateRef": ref, "values": map[string]any{}}, 201, &created)
	var log strings.Builder
	var after int64
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		var evs []struct {
			ID   int64
			Type string
			Body struct{ Message, Status string }
		}
		call(t, base, "GET", fmt.Sprintf("/api/scaffolder/v2/tasks/%s/events?after=%d", created.ID, after), nil, 200, &evs)
		for _, e := range evs {
			after = e.ID
			log.WriteString(e.Body.Message + "\n")
			if e.Type == "completion" {
				if e.Body.Status != "completed" {
					t.Fatalf("task of %s: %s; log:\n%s", ref, e.Body.Status, log.String())
				}
				return log.String()
			}
		}
	}
	t.Fatalf("task of %s did not complete; log:\n%s", ref, log.String())
	return ""
}

// TestTemplatesFromURLLocations registers templates by URL, one served by
// a plain HTTP server (an allowed host) with a folder manifest, one from a
// repository on Atrium's embedded git host, and runs both: fetch:template
// of ./skeleton works for each.
func TestTemplatesFromURLLocations(t *testing.T) {
	site := map[string]string{
		"/tpl/template.yaml":                      fmt.Sprintf(remoteTemplate, "from-http"),
		"/tpl/skeleton/atrium-files.json":         `{"files":[{"path":"README.md"},{"path":"src/${{ values.name }}.go"}]}`,
		"/tpl/skeleton/README.md":                 "# ${{ values.name }}\n",
		"/tpl/skeleton/src/${{ values.name }}.go": "package main\n",
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
	s := apptest.StartServer(t, `catalog:
  rules: [{ allow: [Component, Group, User, Location, Template] }]
backend:
  reading:
    allow: [{ host: 127.0.0.1 }]
atrium:
  allowedLocationTypes: [file, url]
`)
	call(t, s.BaseURL, "POST", "/api/catalog/locations", map[string]any{"type": "url", "target": srv.URL + "/tpl/template.yaml"}, 201, nil)
	log := runTask(t, s.BaseURL, "template:default/from-http")
	for _, want := range []string{"README.md", "src/remote.go"} {
		if !strings.Contains(log, want) {
			t.Errorf("http template: the workspace has no %s; log:\n%s", want, log)
		}
	}

	// A template kept in a repository of the embedded git host.
	src := t.TempDir()
	for name, content := range map[string]string{
		"template.yaml":                       fmt.Sprintf(remoteTemplate, "from-git"),
		"skeleton/README.md":                  "# ${{ values.name }}\n",
		"skeleton/docs/${{ values.name }}.md": "docs\n",
	} {
		p := filepath.Join(src, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	root, err := os.OpenRoot(src)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	git := &actions.GitHost{Dir: filepath.Join(s.Dir, "data", "git"), BaseURL: s.BaseURL, AuthorName: "t", AuthorEmail: "t@x"}
	if _, err := git.Publish(context.Background(), actions.PublishParams{Owner: "platform", Repo: "templates", Branch: "main", Message: "templates", Source: root}); err != nil {
		t.Fatal(err)
	}
	call(t, s.BaseURL, "POST", "/api/catalog/locations", map[string]any{"type": "url", "target": git.ContentsURL("platform", "templates", "main") + "/template.yaml"}, 201, nil)
	log = runTask(t, s.BaseURL, "template:default/from-git")
	for _, want := range []string{"README.md", "docs/remote.md"} {
		if !strings.Contains(log, want) {
			t.Errorf("git host template: the workspace has no %s; log:\n%s", want, log)
		}
	}
}
