package ui_test

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

// files are the test catalog next to the demo one: people, a template
// with a Secret field and a conditional page, and a template only the
// security group may see.
var files = map[string]string{
	"org.yaml": `apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: developers, title: Developers }
spec: { type: team, children: [], members: [jane] }
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: { name: jane }
spec: { memberOf: [developers] }
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: { name: sam }
spec: {}
`,
	"templates/deploy/template.yaml": `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: { name: deploy, title: Deployment, description: Deploys a thing, tags: [ops] }
spec:
  owner: group:default/developers
  type: deployment
  parameters:
    - title: Target
      required: [target, token]
      properties:
        target: { title: Target, type: string, enum: [kubernetes, vm], enumNames: [Kubernetes, Virtual machine] }
        token: { title: Deploy token, type: string, ui:field: Secret }
      dependencies:
        target:
          oneOf:
            - properties:
                target: { enum: [kubernetes] }
                namespace: { title: Namespace, type: string, pattern: '^[a-z-]+$' }
              required: [namespace]
            - properties:
                target: { enum: [vm] }
                hostname: { title: Hostname, type: string }
              required: [hostname]
    - title: Labels
      properties:
        labels: { title: Labels, type: array, items: { type: string }, ui:field: EntityTagsPicker }
        repo: { title: Repository, type: string, ui:field: RepoUrlPicker }
  steps:
    - id: hello
      name: Say hello
      action: debug:log
      input: { message: 'deploying to ${{ parameters.target }}' }
    - id: check
      name: Check the token
      if: ${{ secrets.token == "s3cret-token" }}
      action: debug:log
      input: { message: the token arrived as a secret }
`,
	"templates/hidden/template.yaml": `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: { name: hidden, title: Hidden template, tags: [secret] }
spec:
  owner: group:default/developers
  type: service
  steps:
    - { id: hello, action: debug:log, input: { message: hi } }
`,
	"all.yaml": `apiVersion: backstage.io/v1alpha1
kind: Location
metadata: { name: all }
spec:
  targets: [./org.yaml, ./templates/deploy/template.yaml, ./templates/hidden/template.yaml]
`,
}

// start runs Atrium with the demo catalog and the test catalog, in
// development mode (every request acts as user:default/guest, an admin);
// extra adds top-level sections.
func start(t testing.TB, extra string) *apptest.Server {
	t.Helper()
	return startWith(t, "", extra)
}

// startWith is start with more keys (indented) in the atrium section.
func startWith(t testing.TB, atrium, extra string) *apptest.Server {
	t.Helper()
	dir := t.TempDir()
	apptest.WriteFilesTo(t, dir, files)
	return apptest.StartServer(t, fmt.Sprintf(`catalog:
  rules: [{ allow: [Component, Group, User, Location, Template, System, API, Resource, Domain] }]
  locations: [{ type: file, target: %q }]
atrium:
  demo: true
  allowedLocationTypes: [file, url]
%s
%s`, filepath.Join(dir, "all.yaml"), atrium, extra))
}

// startWithPolicy runs Atrium under the example policy and returns clients
// for jane (a developer: scaffolder.*) and sam (no scaffolder permission).
func startWithPolicy(t *testing.T) (s *apptest.Server, jane, sam client) {
	t.Helper()
	s = start(t, apptest.ExamplePolicyConfig(t))
	token := func(ref string) client { return client{t: t, base: s.BaseURL, token: s.Token(t, ref)} }
	return s, token("user:default/jane"), token("user:default/sam")
}

// client calls Atrium as one user (token) or the development user ("").
// It does not follow redirects.
type client struct {
	t     testing.TB
	base  string
	token string
}

func (c client) req(method, path, ctype, body string, hdr map[string]string) (*http.Response, []byte) {
	c.t.Helper()
	return apptest.Request(c.t, c.base, c.token, method, path, ctype, body, hdr)
}

// json calls a JSON endpoint and decodes the answer, failing unless the
// status is want.
func (c client) json(method, path string, want int, v any) {
	c.t.Helper()
	res, out := c.req(method, path, "", "", map[string]string{"Accept": "application/json"})
	if res.StatusCode != want {
		c.t.Fatalf("%s %s: got %d %s, want %d", method, path, res.StatusCode, out, want)
	}
	if v != nil {
		if err := json.Unmarshal(out, v); err != nil {
			c.t.Fatalf("%s %s: %v in %s", method, path, err, out)
		}
	}
}

func parse(t testing.TB, body []byte) *goquery.Document {
	t.Helper()
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// page GETs an HTML page and parses it, failing unless the status is want.
func (c client) page(path string, want int) *goquery.Document {
	c.t.Helper()
	res, out := c.req("GET", path, "", "", map[string]string{"Accept": "text/html"})
	if res.StatusCode != want {
		c.t.Fatalf("GET %s: got %d, want %d: %s", path, res.StatusCode, want, out)
	}
	return parse(c.t, out)
}

// post submits a form as the page's buttons do and returns the status, the
// redirect target and the parsed page.
func (c client) post(path string, form url.Values) (int, string, *goquery.Document) {
	c.t.Helper()
	res, out := c.req("POST", path, "application/x-www-form-urlencoded", form.Encode(), map[string]string{"Accept": "text/html"})
	return res.StatusCode, res.Header.Get("Location"), parse(c.t, out)
}

// formValues are the inputs a browser would submit from a rendered form
// (text inputs, checked boxes, selected options, hidden inputs), so a test
// can press a button the way a person does.
func formValues(doc *goquery.Document) url.Values {
	v := url.Values{}
	form := doc.Find("form.cf-form")
	form.Find("input[name]").Each(func(_ int, s *goquery.Selection) {
		name, _ := s.Attr("name")
		if _, disabled := s.Attr("disabled"); disabled {
			return
		}
		typ, _ := s.Attr("type")
		if (typ == "checkbox" || typ == "radio") && s.AttrOr("checked", "-") == "-" {
			return
		}
		v.Add(name, s.AttrOr("value", ""))
	})
	form.Find("select[name]").Each(func(_ int, s *goquery.Selection) {
		if _, disabled := s.Attr("disabled"); disabled {
			return
		}
		name, _ := s.Attr("name")
		v.Add(name, s.Find("option[selected]").AttrOr("value", ""))
	})
	form.Find("textarea[name]").Each(func(_ int, s *goquery.Selection) {
		name, _ := s.Attr("name")
		v.Add(name, s.Text())
	})
	return v
}

type task struct {
	ID, Status, CreatedBy string
	Spec                  struct {
		Parameters   map[string]any
		TemplateInfo struct{ EntityRef string }
	}
	State struct {
		Error string
		Steps map[string]struct{ Status string }
	}
}

// waitStatus polls a task until its status is one of want.
func (c client) waitStatus(id string, want ...string) task {
	c.t.Helper()
	var got task
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		c.json("GET", "/api/scaffolder/v2/tasks/"+id, 200, &got)
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
