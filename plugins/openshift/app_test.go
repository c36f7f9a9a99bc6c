package openshift_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/atrium-portal/atrium/internal/app/apptest"
	"github.com/atrium-portal/atrium/internal/integrations/kube/kubesim"
)

// The scaffolder API as tests call it (apptest).
type (
	client = apptest.Client
	event  = apptest.TaskEvent
	task   = apptest.Task
)

const token = "sim-cluster-token-4711"

var catalogFiles = map[string]string{
	"all.yaml": `apiVersion: backstage.io/v1alpha1
kind: Location
metadata: { name: all }
spec: { targets: [./catalog.yaml, ./deploy/template.yaml] }
`,
	"catalog.yaml": `apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: ops }
spec: { type: team, children: [] }
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: shop
  annotations: { backstage.io/kubernetes-id: shop }
spec: { type: service, lifecycle: production, owner: ops }
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: cart
  annotations: { backstage.io/kubernetes-label-selector: 'app=cart' }
spec: { type: service, lifecycle: production, owner: ops }
`,
	"deploy/skeleton/k8s/app.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${{ values.name }}
  labels: { backstage.io/kubernetes-id: ${{ values.name }} }
spec:
  replicas: ${{ values.replicas }}
  selector: { matchLabels: { app: ${{ values.name }} } }
  template:
    metadata: { labels: { app: ${{ values.name }}, backstage.io/kubernetes-id: ${{ values.name }} } }
    spec: { containers: [{ name: app, image: 'registry.example.com/${{ values.name }}:1.0' }] }
---
apiVersion: v1
kind: Service
metadata:
  name: ${{ values.name }}
  labels: { backstage.io/kubernetes-id: ${{ values.name }} }
spec:
  selector: { app: ${{ values.name }} }
  ports: [{ port: 8080 }]
---
apiVersion: route.openshift.io/v1
kind: Route
metadata:
  name: ${{ values.name }}
  labels: { backstage.io/kubernetes-id: ${{ values.name }} }
spec: { host: ${{ values.name }}.apps.example.com, to: { kind: Service, name: ${{ values.name }} } }
`,
	"deploy/template.yaml": `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: { name: deploy }
spec:
  type: service
  parameters:
    required: [name]
    properties:
      name: { type: string }
      replicas: { type: integer, default: 2 }
      force: { type: boolean, default: false }
      operator: { type: string, default: postgresql-operator }
  steps:
    - id: fetch
      action: fetch:template
      input: { url: ./skeleton, values: { name: '${{ parameters.name }}', replicas: '${{ parameters.replicas }}' } }
    - id: project
      action: openshift:project:create
      input: { name: '${{ parameters.name }}', displayName: 'The ${{ parameters.name }} service' }
    - id: apply
      action: kube:apply
      input: { manifests: [k8s], namespace: '${{ steps.project.output.name }}', force: '${{ parameters.force }}', wait: true, waitTimeout: 20s }
    - id: operator
      action: openshift:operator:subscribe
      input: { package: '${{ parameters.operator }}', source: community-operators, namespace: '${{ parameters.name }}', channel: stable, approval: Manual, approve: true, timeout: 30s }
  output:
    text:
      - { title: CSV, content: '${{ steps.operator.output.csv }}' }
`,
}

func appConfig(dir, simURL string) string {
	return fmt.Sprintf(`catalog:
  rules: [{ allow: [Component, Group, User, Location, Template] }]
  locations: [{ type: file, target: %q }]
atrium:
  allowedLocationTypes: [file, url]
  scaffolder: { staleTaskAfter: 2s }
plugins:
  openshift:
    config:
      clusters:
        - { name: east, url: %s, token: '${env:OCP_TEST_TOKEN}', kind: openshift }
      pollInterval: 20ms
      cardTimeout: 2s
`, filepath.Join(dir, "all.yaml"), simURL)
}

func writeCatalog(t *testing.T) string { return apptest.WriteFiles(t, catalogFiles) }

func startSim(t *testing.T) (*kubesim.Sim, string) {
	t.Helper()
	sim := kubesim.New(token, true)
	sim.PodStart, sim.Install = 50*time.Millisecond, 100*time.Millisecond
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	t.Setenv("OCP_TEST_TOKEN", token)
	return sim, srv.URL
}

func run(c client, values map[string]any) (task, string) {
	c.T.Helper()
	var created struct{ ID string }
	c.JSON("POST", "/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/deploy", "values": values}, 201, &created)
	evs := c.TaskEvents(created.ID, nil)
	var tk task
	c.JSON("GET", "/api/scaffolder/v2/tasks/"+created.ID, nil, 200, &tk)
	var log strings.Builder
	for _, e := range evs {
		log.WriteString(e.Body.Message + "\n")
	}
	return tk, log.String()
}

// card fetches the entity page and returns the Workloads cards' text.
func card(t *testing.T, base, name string) (*goquery.Selection, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/catalog/default/component/"+name, nil)
	req.Header.Set("Accept", "text/html")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	doc, err := goquery.NewDocumentFromReader(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	sel := doc.Find(`section.plugin-card[data-plugin="openshift"]`)
	return sel, strings.Join(strings.Fields(sel.Text()), " ")
}

// TestTemplateTaskInApp creates a project, applies a Deployment, Service
// and Route and installs an operator through a template task of the
// scaffolder API, then finds the workloads on the component's page.
func TestTemplateTaskInApp(t *testing.T) {
	for _, db := range apptest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) { testTemplateTaskInApp(t, db.YAML) })
	}
}

func testTemplateTaskInApp(t *testing.T, dbYAML string) {
	sim, simURL := startSim(t)
	dir := writeCatalog(t)
	base := apptest.Start(t, appConfig(dir, simURL)+dbYAML)
	c := client{T: t, Base: base}

	tk, log := run(c, map[string]any{"name": "shop"})
	if tk.Status != "completed" {
		t.Fatalf("task %s: %s\n%s", tk.Status, tk.State.Error, log)
	}
	for _, want := range []string{"created the project shop on cluster east", "dry run: the cluster accepts every object",
		"Deployment/shop/shop created (k8s/app.yaml#1)", "Route/shop/shop created", "Deployment/shop/shop: 2/2 ready, rollout complete", "RequiresApproval", "postgresql-operator.v1.0.0 Succeeded"} {
		if !strings.Contains(log, want) {
			t.Errorf("task log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, token) {
		t.Error("the token is in the task log")
	}
	if text, _ := tk.State.Output["text"].([]any); len(text) != 1 || !strings.Contains(fmt.Sprint(text[0]), "postgresql-operator.v1.0.0") {
		t.Errorf("output text = %v", tk.State.Output["text"])
	}
	d := sim.Get("deployments", "shop", "shop")
	if d == nil || d["spec"].(map[string]any)["replicas"] != float64(2) {
		t.Fatalf("deployment = %v", d)
	}
	if sim.Get("namespaces", "", "shop") == nil || sim.Requests("POST", "/projectrequests") != 1 {
		t.Errorf("project requests = %d", sim.Requests("POST", "/projectrequests"))
	}

	// The component's page shows the workloads once the pods run.
	var text string
	var sel *goquery.Selection
	deadline := time.Now().Add(time.Minute)
	for {
		sel, text = card(t, base, "shop")
		if strings.Contains(text, "Running") && strings.Contains(text, "complete") || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, want := range []string{"Workloads", "east (openshift)", "shop 2/2", "8080/TCP", "Running", "complete"} {
		if !strings.Contains(text, want) {
			t.Errorf("card lacks %q: %q", want, text)
		}
	}
	if sel.Find(".badge.ok").Length() != 1 {
		h, _ := goquery.OuterHtml(sel)
		t.Errorf("want one ok badge: %s", h)
	}
	if href, _ := sel.Find(`a[href="http://shop.apps.example.com"]`).Attr("href"); href == "" {
		t.Errorf("no route link: %q", text)
	}

	// The same task again changes nothing and still succeeds.
	tk, log = run(c, map[string]any{"name": "shop"})
	if tk.Status != "completed" || !strings.Contains(log, "the project shop exists on cluster east") {
		t.Errorf("second run: %s %s\n%s", tk.Status, tk.State.Error, log)
	}

	// A label-selector entity with nothing running says so.
	if _, text := card(t, base, "cart"); !strings.Contains(text, "No workloads match `app=cart`") && !strings.Contains(text, "No workloads match app=cart") {
		t.Errorf("cart card: %q", text)
	}
}

// TestApplyConflictInApp: a field another manager owns fails the step
// naming the field and the manager; force takes it over.
func TestApplyConflictInApp(t *testing.T) {
	sim, simURL := startSim(t)
	dir := writeCatalog(t)
	base := apptest.Start(t, appConfig(dir, simURL))
	c := client{T: t, Base: base}
	for _, o := range []map[string]any{
		{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "shop"}},
		{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "shop", "namespace": "shop"},
			"spec": map[string]any{"replicas": 7, "selector": map[string]any{"matchLabels": map[string]any{"app": "shop"}},
				"template": map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": "shop"}},
					"spec": map[string]any{"containers": []any{map[string]any{"name": "app", "image": "x"}}}}}},
	} {
		if err := sim.Seed(o); err != nil {
			t.Fatal(err)
		}
	}
	tk, log := run(c, map[string]any{"name": "shop"})
	if tk.Status != "failed" {
		t.Fatalf("task %s, want failed\n%s", tk.Status, log)
	}
	for _, want := range []string{`field .spec.replicas is owned by the field manager "seed"`, "set force: true"} {
		if !strings.Contains(tk.State.Error+log, want) {
			t.Errorf("error lacks %q: %s\n%s", want, tk.State.Error, log)
		}
	}
	if r := sim.Get("deployments", "shop", "shop")["spec"].(map[string]any)["replicas"]; r != float64(7) {
		t.Errorf("replicas = %v after a refused apply", r)
	}
	tk, log = run(c, map[string]any{"name": "shop", "force": true})
	if tk.Status != "completed" {
		t.Fatalf("force: %s %s\n%s", tk.Status, tk.State.Error, log)
	}
	if r := sim.Get("deployments", "shop", "shop")["spec"].(map[string]any)["replicas"]; r != float64(2) {
		t.Errorf("replicas = %v after force", r)
	}
}

// TestTaskResumesAfterRestart stops Atrium while the operator installs;
// the next start follows the same Subscription to Succeeded.
func TestTaskResumesAfterRestart(t *testing.T) {
	for _, db := range apptest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) { testTaskResumesAfterRestart(t, db.YAML) })
	}
}

func testTaskResumesAfterRestart(t *testing.T, dbYAML string) {
	sim, simURL := startSim(t)
	sim.Install = 3 * time.Second
	dir := writeCatalog(t)
	r := apptest.RunAcrossRestart(t, appConfig(dir, simURL), dir, dbYAML, false,
		map[string]any{"templateRef": "template:default/deploy", "values": map[string]any{"name": "shop"}},
		func(e event) bool { return strings.Contains(e.Body.Message, "Installing") })
	c, evs, tk := r.Client, r.Events, r.Task
	if tk.Status != "completed" {
		t.Fatalf("after restart: %s (%s)", tk.Status, tk.State.Error)
	}
	resumed := false
	for _, e := range evs {
		resumed = resumed || strings.Contains(e.Body.Message, "resuming the installation of shop/postgresql-operator")
	}
	if !resumed {
		t.Error("no 'resuming the installation' line in the log")
	}
	if got := sim.Requests("PATCH", "/subscriptions/postgresql-operator"); got != 1 {
		t.Errorf("subscription applies = %d, want 1 (resumed, not subscribed again)", got)
	}
	// The installation was followed through the operations store.
	var install []apptest.Operation
	for _, op := range c.Operations(r.TaskID) {
		if op.Kind == "operator-install" {
			install = append(install, op)
		}
	}
	if len(install) != 1 || install[0].State != "succeeded" || !strings.HasPrefix(install[0].System, "kube:") || install[0].ExternalID != "shop/postgresql-operator" {
		t.Errorf("operator-install operations: got %+v, want one succeeded", install)
	}
}

// TestDemoMode: without clusters in demo mode the plugin uses one
// simulated OpenShift cluster, served by Atrium at /sim/openshift/, and
// the demo's tracking-service shows its workloads labelled simulated.
func TestDemoMode(t *testing.T) {
	base := apptest.Start(t, `catalog:
  rules: [{ allow: [Component, API, Resource, System, Domain, Group, User, Location, Template] }]
atrium:
  demo: true
  allowedLocationTypes: [file, url]
`)
	c := client{T: t, Base: base}
	var dep struct {
		Kind   string
		Status struct{ Replicas int }
	}
	c.JSON("GET", "/sim/openshift/apis/apps/v1/namespaces/shipment-tracking/deployments/tracking-service", nil, 200, &dep)
	if dep.Kind != "Deployment" || dep.Status.Replicas != 3 {
		t.Errorf("simulated deployment = %+v", dep)
	}
	var text string
	deadline := time.Now().Add(time.Minute)
	for {
		_, text = card(t, base, "tracking-service")
		if strings.Contains(text, "tracking-service 3/3") || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, want := range []string{"simulated OpenShift", "demo (openshift)", "tracking-service 3/3", "tracking.apps.demo.northwind.example"} {
		if !strings.Contains(text, want) {
			t.Errorf("card lacks %q: %q", want, text)
		}
	}
}
