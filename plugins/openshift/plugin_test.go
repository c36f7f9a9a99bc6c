package openshift_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/integrations/kube/kubesim"
	"github.com/atrium-portal/atrium/plugin"
	"github.com/atrium-portal/atrium/plugin/plugintest"
	"github.com/atrium-portal/atrium/plugins/openshift"
)

// setup returns the plugin provisioned against a simulator on 127.0.0.1
// (cluster "east") and a second cluster "down" that never answers.
func setup(t *testing.T) (*openshift.Plugin, *kubesim.Sim) {
	t.Helper()
	sim := kubesim.New(token, true)
	sim.PodStart, sim.Install = 20*time.Millisecond, 50*time.Millisecond
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	p := openshift.New(openshift.Options{})
	plugintest.Provision(t, p, map[string]any{
		"clusters": []any{
			map[string]any{"name": "east", "url": srv.URL, "token": token},
			map[string]any{"name": "down", "url": "http://127.0.0.1:1", "token": "other-token", "kind": "kubernetes"},
		},
		"pollInterval": "10ms", "cardTimeout": "1s", "maxObjects": 3, "maxManifestBytes": 2048, "maxOperatorTimeout": "1m", "maxRetries": -1,
	})
	return p, sim
}

func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: %s }\ndata: { a: b }\n"

func TestActionErrors(t *testing.T) {
	p, _ := setup(t)
	ws := t.TempDir()
	write(t, ws, map[string]string{
		"big.yaml":    strings.Repeat("# padding\n", 300),
		"many.yaml":   strings.Repeat("apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\n---\n", 4),
		"empty.yaml":  "---\n",
		"broken.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: [\n",
	})
	outside := filepath.Join(filepath.Dir(ws), "outside.yaml")
	_ = os.WriteFile(outside, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: { name: x }\n"), 0o644)
	for _, tt := range []struct {
		name   string
		action string
		input  map[string]any
		kind   plugin.ErrorKind
		want   string
	}{
		{"escape", "kube:apply", map[string]any{"manifests": "../outside.yaml"}, plugin.ErrInvalid, `"../outside.yaml" is not a path inside the workspace`},
		{"absolute", "kube:apply", map[string]any{"manifests": outside}, plugin.ErrInvalid, "is not a path inside the workspace"},
		{"missing", "kube:apply", map[string]any{"manifests": []any{"nope.yaml"}}, plugin.ErrInvalid, `"nope.yaml"`},
		{"too big", "kube:apply", map[string]any{"manifests": "big.yaml"}, plugin.ErrInvalid, "larger than 2048 bytes (plugins.openshift.config.maxManifestBytes)"},
		{"too many", "kube:apply", map[string]any{"manifests": "many.yaml"}, plugin.ErrInvalid, "more than 3 objects"},
		{"no objects", "kube:apply", map[string]any{"manifests": "empty.yaml"}, plugin.ErrInvalid, "hold no objects"},
		{"broken yaml", "kube:apply", map[string]any{"manifests": "broken.yaml"}, plugin.ErrInvalid, "broken.yaml: document 1"},
		{"bad namespace", "kube:apply", map[string]any{"manifests": "empty.yaml", "namespace": "Not_OK"}, plugin.ErrInvalid, "input.namespace"},
		{"unknown cluster", "kube:apply", map[string]any{"manifests": "x", "cluster": "west"}, plugin.ErrInvalid, `no cluster named "west"; configured: down, east`},
		{"bad project name", "openshift:project:create", map[string]any{"name": "My Project"}, plugin.ErrInvalid, "input.name"},
		{"unreachable", "openshift:project:create", map[string]any{"name": "p", "cluster": "down"}, plugin.ErrUnavailable, "cluster down (http://127.0.0.1:1) cannot be reached"},
		{"timeout over limit", "openshift:operator:subscribe", map[string]any{"package": "x", "source": "s", "timeout": "2h"}, plugin.ErrInvalid, "over the limit of 1m0s"},
		{"needs approval", "openshift:operator:subscribe", map[string]any{"package": "manual-op", "source": "s", "approval": "Manual"}, plugin.ErrConflict, "requires approval"},
		{"failed csv", "openshift:operator:subscribe", map[string]any{"package": "fail-op", "source": "s"}, plugin.ErrConflict, "install timeout"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := plugintest.RunActionRequest(t, p, tt.action, plugin.ActionRequest{TaskID: "t-" + tt.name, Input: tt.input, Workspace: ws})
			if res.Err == nil || plugin.KindOf(res.Err) != tt.kind || !strings.Contains(res.Err.Error(), tt.want) {
				t.Errorf("err = %v (kind %s), want %s containing %q", res.Err, plugin.KindOf(res.Err), tt.kind, tt.want)
			}
		})
	}
}

func TestApplyDryRunTask(t *testing.T) {
	p, sim := setup(t)
	ws := t.TempDir()
	write(t, ws, map[string]string{"k8s/a.yaml": strings.ReplaceAll(cm, "%s", "a"), "k8s/sub/b.yml": strings.ReplaceAll(cm, "%s", "b"), "k8s/README.md": "not yaml"})
	res := plugintest.RunActionRequest(t, p, "kube:apply", plugin.ActionRequest{TaskID: "t", Input: map[string]any{"manifests": "k8s", "namespace": "default"}, Workspace: ws, DryRun: true})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if sim.Get("configmaps", "default", "a") != nil {
		t.Error("a task dry run applied")
	}
	res = plugintest.RunActionRequest(t, p, "kube:apply", plugin.ActionRequest{TaskID: "t", Input: map[string]any{"manifests": "k8s", "namespace": "default"}, Workspace: ws})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	applied, _ := json.Marshal(res.Outputs["applied"])
	if string(applied) != `["ConfigMap/default/a","ConfigMap/default/b"]` {
		t.Errorf("applied = %s", applied)
	}
}

func TestCard(t *testing.T) {
	p, sim := setup(t)
	for _, o := range []map[string]any{
		{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "bad", "namespace": "default", "labels": map[string]any{"app": "x"}},
			"spec": map[string]any{"replicas": 1, "selector": map[string]any{"matchLabels": map[string]any{"app": "x"}},
				"template": map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": "x"}},
					"spec": map[string]any{"containers": []any{map[string]any{"name": "c", "image": "crash:1"}}}}}},
	} {
		if err := sim.Seed(o); err != nil {
			t.Fatal(err)
		}
	}
	sim.Get("deployments", "default", "bad") // the simulated controller creates the pod
	time.Sleep(60 * time.Millisecond)
	entity := map[string]any{"metadata": map[string]any{"annotations": map[string]any{openshift.AnnotationLabelSelector: "app=x"}}}
	v, err := plugintest.RenderCard(t, p, "workloads-by-selector", entity)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(v)
	s := string(b)
	for _, want := range []string{`"label":"bad 0/1","status":"error"`, "0 of 1 available; pod bad-5f01-0: CrashLoopBackOff", `"key":"Cluster down"`, "east (openshift)"} {
		if !strings.Contains(s, want) {
			t.Errorf("view lacks %q: %s", want, s)
		}
	}
	// The down cluster's informers retry on their own, so by the time the
	// card asks, its breaker may already be open: either way the card says
	// why the cluster is missing.
	if !strings.Contains(s, "cannot be reached") && !strings.Contains(s, "is not asked for now") {
		t.Errorf("view does not say the down cluster is unreachable: %s", s)
	}
	// backstage.io/kubernetes-namespace limits the search.
	other := map[string]any{"metadata": map[string]any{"annotations": map[string]any{openshift.AnnotationLabelSelector: "app=x", openshift.AnnotationNamespace: "other"}}}
	if v, err := plugintest.RenderCard(t, p, "workloads-by-selector", other); err != nil || !strings.Contains(v.Blocks[len(v.Blocks)-1].Markdown, "No workloads match") {
		t.Errorf("card in another namespace: %+v %v", v, err)
	}
	// The id card defers to the selector card when both are set, and a
	// bad selector is refused.
	both := map[string]any{"metadata": map[string]any{"annotations": map[string]any{openshift.AnnotationLabelSelector: "app=x", openshift.AnnotationKubernetesID: "x"}}}
	if v, err := plugintest.RenderCard(t, p, "workloads", both); err != nil || !strings.Contains(v.Blocks[0].Markdown, "other Workloads card") {
		t.Errorf("id card with both annotations: %+v %v", v, err)
	}
	bad := map[string]any{"metadata": map[string]any{"annotations": map[string]any{openshift.AnnotationLabelSelector: "app in ("}}}
	if _, err := plugintest.RenderCard(t, p, "workloads-by-selector", bad); plugin.KindOf(err) != plugin.ErrInvalid {
		t.Errorf("bad selector: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  string
		want string
	}{
		{"duplicate", `{"clusters":[{"name":"a","url":"https://a","token":"t"},{"name":"a","url":"https://b","token":"t"}]}`, `clusters[1].name: "a" is used twice`},
		{"bad ca", `{"clusters":[{"name":"a","url":"https://a","token":"t","ca":"not a pem"}]}`, "clusters[0].ca: not a PEM certificate"},
		{"bad kind", `{"clusters":[{"name":"a","url":"https://a","token":"t","kind":"nomad"}]}`, `clusters[0].kind: "nomad" is neither`},
		{"bad duration", `{"pollInterval":"soon"}`, `pollInterval: "soon" is not a positive duration`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := openshift.New(openshift.Options{})
			err := p.Provision(context.Background(), plugin.Host{}, json.RawMessage(tt.cfg))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
	p := openshift.New(openshift.Options{})
	if err := p.Provision(context.Background(), plugin.Host{}, json.RawMessage(`{"clusters":[{"name":"a","url":"https://a","token":"literal-secret"}]}`)); err != nil {
		t.Fatal(err)
	}
	if got := p.SecretValues(); len(got) != 1 || got[0] != "literal-secret" {
		t.Errorf("SecretValues = %v", got)
	}
	if res := plugintest.RunAction(t, openshift.New(openshift.Options{}), "kube:apply", map[string]any{"manifests": "x"}); plugin.KindOf(res.Err) != plugin.ErrUnavailable {
		t.Errorf("without clusters: %v", res.Err)
	}
}

func TestApplyWaitsForRollout(t *testing.T) {
	p, _ := setup(t)
	ws := t.TempDir()
	dep := `apiVersion: apps/v1
kind: Deployment
metadata: { name: %s }
spec:
  replicas: 2
  selector: { matchLabels: { app: %s } }
  template:
    metadata: { labels: { app: %s } }
    spec: { containers: [{ name: c, image: '%s' }] }
`
	write(t, ws, map[string]string{
		"ok.yaml":    fmt.Sprintf(dep, "ok", "ok", "ok", "web:1"),
		"crash.yaml": fmt.Sprintf(dep, "crash", "crash", "crash", "crash:1"),
	})
	res := plugintest.RunActionRequest(t, p, "kube:apply", plugin.ActionRequest{TaskID: "ok", Input: map[string]any{"manifests": "ok.yaml", "namespace": "default", "wait": true}, Workspace: ws})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if logs := strings.Join(res.Logs, "\n"); !strings.Contains(logs, "Deployment/default/ok: 2/2 ready, rollout complete") {
		t.Errorf("log:\n%s", logs)
	}
	res = plugintest.RunActionRequest(t, p, "kube:apply", plugin.ActionRequest{TaskID: "crash", Input: map[string]any{"manifests": "crash.yaml", "namespace": "default", "wait": true, "waitTimeout": "300ms"}, Workspace: ws})
	if plugin.KindOf(res.Err) != plugin.ErrUnavailable || !strings.Contains(fmt.Sprint(res.Err), "Deployment/default/crash did not roll out within 300ms (input.waitTimeout): 0 of 2 available") {
		t.Errorf("crash-looping deployment: %v", res.Err)
	}
	res = plugintest.RunAction(t, p, "kube:apply", map[string]any{"manifests": "x", "waitTimeout": "2h"})
	if plugin.KindOf(res.Err) != plugin.ErrInvalid || !strings.Contains(fmt.Sprint(res.Err), "maxRolloutTimeout") {
		t.Errorf("waitTimeout over the limit: %v", res.Err)
	}
}
