package taskui_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/atrium-portal/atrium/internal/app/apptest"
)

// files are the test catalog: people, a slow template (a debug:wait step
// between two log lines) and one whose second step fails until the file
// it renames exists.
var files = map[string]string{
	"org.yaml": `apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: developers }
spec: { type: team, children: [], members: [jane, joe] }
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: { name: jane }
spec: { memberOf: [developers] }
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: { name: joe }
spec: { memberOf: [developers] }
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: { name: sam }
spec: {}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: security }
spec: { type: team, children: [], members: [ann] }
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: { name: ann }
spec: { memberOf: [security] }
`,
	"templates/slow/template.yaml": `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: { name: slow, title: Slow template }
spec:
  type: service
  parameters: { properties: { seconds: { type: number, default: 2 } } }
  steps:
    - id: hello
      name: Say hello
      action: debug:log
      input: { message: hello from the first step }
    - id: wait
      name: Wait a while
      action: debug:wait
      input: { seconds: '${{ parameters.seconds }}' }
    - id: bye
      name: Say goodbye
      action: debug:log
      input: { message: goodbye from the last step }
  output:
    links:
      - { title: Open in catalog, entityRef: 'group:default/developers' }
    text:
      - { title: Next steps, content: 'Read **the docs**.' }
`,
	"templates/flaky/template.yaml": `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: { name: flaky, title: Flaky template }
spec:
  type: service
  steps:
    - id: write
      name: Write a file
      action: debug:log
      input: { message: writing }
    - id: rename
      name: Rename a missing file
      action: fs:rename
      input: { files: [{ from: missing.txt, to: other.txt }] }
`,
	"all.yaml": `apiVersion: backstage.io/v1alpha1
kind: Location
metadata: { name: all }
spec:
  targets: [./org.yaml, ./templates/slow/template.yaml, ./templates/flaky/template.yaml]
`,
}

func baseConfig(dir, atrium string) string {
	if !strings.Contains(atrium, "scaffolder:") {
		atrium += "  scaffolder: { staleTaskAfter: 2s }\n"
	}
	return fmt.Sprintf(`catalog:
  rules: [{ allow: [Component, Group, User, Location, Template, System, API, Resource, Domain] }]
  locations: [{ type: file, target: %q }]
atrium:
  allowedLocationTypes: [file, url]
%s`, filepath.Join(dir, "all.yaml"), atrium)
}

// start runs Atrium over the test catalog in development mode (every
// request acts as user:default/guest, an admin). atrium adds indented keys
// to the atrium section (its scaffolder key replaces the default one);
// extra adds top-level sections.
func start(t *testing.T, atrium, extra string) *apptest.Server {
	t.Helper()
	dir := t.TempDir()
	apptest.WriteFilesTo(t, dir, files)
	s := apptest.StartServer(t, baseConfig(dir, atrium)+extra)
	waitEntity(t, s.BaseURL, "template/default/slow")
	return s
}

// waitEntity waits until the catalog serves an entity (kind/namespace/name).
// With PostgreSQL, locations may still be processing when the server is
// ready.
func waitEntity(t *testing.T, base, ref string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(base + "/api/catalog/entities/by-name/" + ref)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the catalog has no %s after 30s (HTTP %d)", ref, res.StatusCode)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// people are clients of the users of the test catalog.
type people struct {
	// jane and joe are developers (scaffolder.*), sam has no scaffolder
	// permission, ann is an auditor (atrium.admin.audit.read).
	jane, joe, sam, ann client
}

// startWithPolicy runs Atrium under the example policy.
func startWithPolicy(t *testing.T) (*apptest.Server, people) {
	t.Helper()
	s := start(t, "", apptest.ExamplePolicyConfig(t))
	token := func(ref string) client { return client{t: t, base: s.BaseURL, token: s.Token(t, ref)} }
	return s, people{jane: token("user:default/jane"), joe: token("user:default/joe"), sam: token("user:default/sam"), ann: token("user:default/ann")}
}

// client calls Atrium as one user (token) or the development user ("").
// It does not follow redirects.
type client struct {
	t     *testing.T
	base  string
	token string
}

func (c client) req(method, path, ctype, body string, hdr map[string]string) (*http.Response, []byte) {
	c.t.Helper()
	return apptest.Request(c.t, c.base, c.token, method, path, ctype, body, hdr)
}

// json calls the JSON API and decodes the answer, failing unless the
// status is want.
func (c client) json(method, path, body string, want int, v any) {
	c.t.Helper()
	ctype := ""
	if body != "" {
		ctype = "application/json"
	}
	res, out := c.req(method, path, ctype, body, nil)
	if res.StatusCode != want {
		c.t.Fatalf("%s %s: got %d %s, want %d", method, path, res.StatusCode, out, want)
	}
	if v != nil {
		if err := json.Unmarshal(out, v); err != nil {
			c.t.Fatalf("%s %s: %v in %s", method, path, err, out)
		}
	}
}

// page GETs an HTML page and parses it, failing unless the status is want.
func (c client) page(path string, want int) *goquery.Document {
	c.t.Helper()
	res, out := c.req("GET", path, "", "", map[string]string{"Accept": "text/html"})
	if res.StatusCode != want {
		c.t.Fatalf("GET %s: got %d, want %d: %s", path, res.StatusCode, want, out)
	}
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(string(out)))
	if err != nil {
		c.t.Fatal(err)
	}
	return doc
}

// post submits a form (as the page's buttons do) and returns the status
// and the redirect target.
func (c client) post(path string, form url.Values) (int, string) {
	c.t.Helper()
	res, _ := c.req("POST", path, "application/x-www-form-urlencoded", form.Encode(), map[string]string{"Accept": "text/html"})
	return res.StatusCode, res.Header.Get("Location")
}

// create starts a task and returns its id.
func (c client) create(templateRef, values string) string {
	c.t.Helper()
	var created struct{ ID string }
	c.json("POST", "/api/scaffolder/v2/tasks", fmt.Sprintf(`{"templateRef":%q,"values":%s}`, templateRef, values), 201, &created)
	return created.ID
}

type task struct {
	ID, Status, CreatedBy string
}

// waitStatus polls a task until its status is one of want.
func (c client) waitStatus(id string, want ...string) task {
	c.t.Helper()
	var got task
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		c.json("GET", "/api/scaffolder/v2/tasks/"+id, "", 200, &got)
		for _, w := range want {
			if got.Status == w {
				return got
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("task %s: status %q, want one of %v", id, got.Status, want)
	return got
}
