package kube_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/integrations/kube"
	"github.com/atrium-portal/atrium/internal/integrations/kube/kubesim"
)

const token = "sim-token"

func start(t testing.TB, openshift bool) (*kubesim.Sim, *kube.Client) {
	t.Helper()
	sim := kubesim.New(token, openshift)
	sim.PodStart, sim.Install = 50*time.Millisecond, 100*time.Millisecond
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	kind := kube.KindKubernetes
	if openshift {
		kind = kube.KindOpenShift
	}
	c, err := kube.New(kube.Config{Name: "test", URL: srv.URL, Token: token, Kind: kind, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return sim, c
}

const manifests = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: { backstage.io/kubernetes-id: shop }
spec:
  replicas: 2
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web, backstage.io/kubernetes-id: shop } }
    spec: { containers: [{ name: web, image: registry.example.com/web:1.0 }] }
---
apiVersion: v1
kind: Service
metadata:
  name: web
  labels: { backstage.io/kubernetes-id: shop }
spec:
  selector: { app: web }
  ports: [{ port: 80 }]
---
apiVersion: route.openshift.io/v1
kind: Route
metadata:
  name: web
  labels: { backstage.io/kubernetes-id: shop }
spec: { to: { kind: Service, name: web } }
`

func TestProjectCreateIsIdempotent(t *testing.T) {
	for _, openshift := range []bool{true, false} {
		sim, c := start(t, openshift)
		ctx := context.Background()
		created, err := c.EnsureProject(ctx, kube.Project{Name: "shop", DisplayName: "Shop"})
		if err != nil || !created {
			t.Fatalf("openshift=%v: first: created %v, err %v", openshift, created, err)
		}
		created, err = c.EnsureProject(ctx, kube.Project{Name: "shop"})
		if err != nil || created {
			t.Fatalf("openshift=%v: second: created %v, err %v", openshift, created, err)
		}
		if sim.Get("namespaces", "", "shop") == nil {
			t.Errorf("openshift=%v: no namespace shop", openshift)
		}
		wantPR := 0
		if openshift {
			wantPR = 2
		}
		if got := sim.Requests("POST", "/projectrequests"); got != wantPR {
			t.Errorf("openshift=%v: project requests = %d, want %d", openshift, got, wantPR)
		}
		if _, err := c.EnsureProject(ctx, kube.Project{Name: "Bad_Name"}); err == nil || !strings.Contains(err.Error(), "not a valid namespace name") {
			t.Errorf("bad name: got %v", err)
		}
	}
}

func TestApplyThenWorkloads(t *testing.T) {
	sim, c := start(t, true)
	ctx := context.Background()
	if _, err := c.EnsureProject(ctx, kube.Project{Name: "shop"}); err != nil {
		t.Fatal(err)
	}
	ms, err := kube.Decode([]byte(manifests), "k8s/app.yaml", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 3 || ms[1].Source != "k8s/app.yaml#2" {
		t.Fatalf("decoded %d objects: %+v", len(ms), ms)
	}
	if _, err := c.Apply(ctx, ms, kube.ApplyOptions{Namespace: "shop", DryRun: true}); err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if sim.Get("deployments", "shop", "web") != nil {
		t.Fatal("the dry run stored the deployment")
	}
	res, err := c.Apply(ctx, ms, kube.ApplyOptions{Namespace: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 || res[0].Action != "created" {
		t.Errorf("results = %+v", res)
	}
	d := sim.Get("deployments", "shop", "web")
	if d == nil {
		t.Fatal("no deployment")
	}
	var w kube.Workloads
	deadline := time.Now().Add(5 * time.Second)
	for {
		w, err = c.Workloads(ctx, "backstage.io/kubernetes-id=shop", "")
		if err != nil {
			t.Fatal(err)
		}
		if len(w.Deployments) == 1 && w.Deployments[0].Health == kube.Healthy || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(w.Deployments) != 1 || w.Deployments[0].Ready != 2 || w.Deployments[0].Rollout != "complete" {
		t.Errorf("deployments = %+v", w.Deployments)
	}
	if len(w.Pods) != 2 || w.Pods[0].Phase != "Running" {
		t.Errorf("pods = %+v", w.Pods)
	}
	if len(w.Services) != 1 || w.Services[0].Ports[0] != "80/TCP" || w.Services[0].ClusterIP == "" {
		t.Errorf("services = %+v", w.Services)
	}
	if len(w.Routes) != 1 || !w.Routes[0].Admitted || !strings.Contains(w.Routes[0].Host, "web-shop") {
		t.Errorf("routes = %+v", w.Routes)
	}
	if w, _ := c.Workloads(ctx, "backstage.io/kubernetes-id=other", ""); !w.Empty() {
		t.Errorf("other selector matched %+v", w)
	}
	if _, err := c.Workloads(ctx, "a in (", ""); err == nil {
		t.Error("a bad selector was accepted")
	}
}

func TestApplyReportsEveryProblem(t *testing.T) {
	_, c := start(t, false)
	ctx := context.Background()
	bad := `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: other } }
    spec: { containers: [{ name: web }] }
---
apiVersion: example.com/v1
kind: Widget
metadata: { name: w }
`
	ms, err := kube.Decode([]byte(bad), "bad.yaml", 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Apply(ctx, ms, kube.ApplyOptions{Namespace: "default", DryRun: true})
	var pe *kube.ProblemsError
	if !errors.As(err, &pe) {
		t.Fatalf("got %v, want problems", err)
	}
	msg := pe.Error()
	for _, want := range []string{"spec.template.metadata.labels", "spec.template.spec.containers[0].image", "Widget/w (bad.yaml#2)", "does not serve kind Widget"} {
		if !strings.Contains(msg, want) {
			t.Errorf("problems lack %q: %s", want, msg)
		}
	}
	if _, err := kube.Decode([]byte("kind: X\nmetadata: {name: a}\n"), "x.yaml", 0); err == nil || !strings.Contains(err.Error(), "x.yaml#1: apiVersion and kind are required") {
		t.Errorf("decode without apiVersion: %v", err)
	}
}

func TestApplyConflictNamesFieldAndManager(t *testing.T) {
	sim, c := start(t, false)
	ctx := context.Background()
	ms, _ := kube.Decode([]byte(manifests), "app.yaml", 0)
	ms = ms[:2]
	if err := sim.Seed(ms[0].Object.Object); err != nil { // manager "seed", 2 replicas
		t.Fatal(err)
	}
	changed := ms[0].Object.DeepCopy()
	if err := setReplicas(changed.Object, 5); err != nil {
		t.Fatal(err)
	}
	ms[0].Object = changed
	_, err := c.Apply(ctx, ms, kube.ApplyOptions{Namespace: "default"})
	var pe *kube.ProblemsError
	if !errors.As(err, &pe) || !pe.Conflicts() {
		t.Fatalf("got %v, want a conflict", err)
	}
	p := pe.Problems[0]
	if p.Field != ".spec.replicas" || p.Manager != "seed" || !strings.Contains(p.String(), "use force") {
		t.Errorf("problem = %+v", p)
	}
	if _, err := c.Apply(ctx, ms, kube.ApplyOptions{Namespace: "default", Force: true}); err != nil {
		t.Fatalf("force: %v", err)
	}
	if r := sim.Get("deployments", "default", "web")["spec"].(map[string]any)["replicas"]; r != float64(5) {
		t.Errorf("replicas = %v, want 5", r)
	}
}

func setReplicas(o map[string]any, n int64) error {
	spec, ok := o["spec"].(map[string]any)
	if !ok {
		return errors.New("no spec")
	}
	spec["replicas"] = n
	return nil
}

func TestOperatorSubscribe(t *testing.T) {
	sim, c := start(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.EnsureProject(ctx, kube.Project{Name: "ops"}); err != nil {
		t.Fatal(err)
	}
	sub := kube.Subscription{Namespace: "ops", Package: "postgresql-operator", Channel: "stable", Source: "community-operators", Manual: true}
	if err := c.Subscribe(ctx, sub); err != nil {
		t.Fatal(err)
	}
	if sim.Get("operatorgroups", "ops", "ops") == nil {
		t.Error("no OperatorGroup")
	}
	var states []string
	report := func(s kube.InstallState) { states = append(states, s.String()) }
	_, err := c.FollowInstall(ctx, "ops", "postgresql-operator", false, 10*time.Millisecond, report)
	if !errors.Is(err, kube.ErrNeedsApproval) {
		t.Fatalf("without approve: got %v", err)
	}
	st, err := c.FollowInstall(ctx, "ops", "postgresql-operator", true, 10*time.Millisecond, report)
	if err != nil {
		t.Fatal(err)
	}
	if st.CSV != "postgresql-operator.v1.0.0" || st.CSVPhase != "Succeeded" {
		t.Errorf("state = %+v", st)
	}
	if !strings.Contains(strings.Join(states, "\n"), "RequiresApproval") {
		t.Errorf("states = %v", states)
	}

	if err := c.Subscribe(ctx, kube.Subscription{Namespace: kube.GlobalOperatorsNamespace, Package: "failing-operator", Source: "community-operators"}); err != nil {
		t.Fatal(err)
	}
	_, err = c.FollowInstall(ctx, kube.GlobalOperatorsNamespace, "failing-operator", false, 10*time.Millisecond, func(kube.InstallState) {})
	if err == nil || !strings.Contains(err.Error(), "install timeout") {
		t.Errorf("failing operator: got %v", err)
	}
	short, cancel2 := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel2()
	sim.Install = time.Hour
	_ = c.Subscribe(ctx, kube.Subscription{Namespace: "ops", Name: "slow", Package: "slow-operator", Source: "community-operators"})
	if _, err := c.FollowInstall(short, "ops", "slow", false, 10*time.Millisecond, func(kube.InstallState) {}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("timeout: got %v", err)
	}
}
