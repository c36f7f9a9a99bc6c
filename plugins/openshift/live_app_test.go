package openshift_test

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/app/apptest"
	"github.com/atrium-portal/atrium/internal/integrations/kube/kubesim"
)

const liveCatalog = `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: shop
  annotations: { backstage.io/kubernetes-id: shop }
spec: { type: service, lifecycle: production, owner: ops }
`

func shopDeployment(replicas int) map[string]any {
	labels := map[string]any{"app": "web", "backstage.io/kubernetes-id": "shop"}
	return map[string]any{"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "web", "namespace": "default", "labels": labels},
		"spec": map[string]any{"replicas": replicas, "selector": map[string]any{"matchLabels": map[string]any{"app": "web"}},
			"template": map[string]any{"metadata": map[string]any{"labels": labels},
				"spec": map[string]any{"containers": []any{map[string]any{"name": "web", "image": "registry.example.com/web:1"}}}}}}
}

// TestWorkloadsLive views a component's Workloads card, then scales its
// deployment in the cluster: the entity page's live stream (SSE) tells
// the page, the card then shows the new replica count, and no list call
// reached the cluster after the first view (the informers' cache serves
// the card).
func TestWorkloadsLive(t *testing.T) {
	sim, simURL, base := startLive(t)

	wait := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); !ok(); time.Sleep(25 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %s", what)
			}
		}
	}
	var text string
	wait("the card to show the deployment ready", func() bool {
		_, text = card(t, base, "shop")
		return strings.Contains(text, "web 2/2")
	})
	if !strings.Contains(text, "live") {
		t.Errorf("the card is not labelled live: %q", text)
	}
	lists := sim.Requests("GET", "/deployments") + sim.Requests("GET", "/pods")
	if sim.Requests("WATCH", "/deployments") == 0 {
		t.Fatal("no watch of deployments")
	}

	// The entity page's live stream.
	req, _ := http.NewRequest("GET", base+"/events/catalog?ref=component:default/shop", nil)
	req.Header.Set("Accept", "text/event-stream")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	events := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "data: ") {
				events <- sc.Text()
			}
		}
		close(events)
	}()

	scale(t, simURL, 4)

	select {
	case ev, ok := <-events:
		if !ok || !strings.Contains(ev, `"refs":["component:default/shop"]`) || !strings.Contains(ev, `"kind":"card"`) {
			t.Errorf("live stream: got %q, want a card change of component:default/shop", ev)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the live stream sent nothing after the scale")
	}
	wait("the card to show the scale", func() bool {
		_, text = card(t, base, "shop")
		return strings.Contains(text, "web 4/4")
	})
	if got := sim.Requests("GET", "/deployments") + sim.Requests("GET", "/pods"); got != lists {
		t.Errorf("list calls: %d after the scale and the views, %d before; want none more", got, lists)
	}
}

// startLive starts a simulated cluster holding the shop's deployment (2
// replicas) and Atrium with the shop component.
func startLive(t *testing.T) (*kubesim.Sim, string, string) {
	t.Helper()
	sim, simURL := startSim(t)
	if err := sim.Seed(shopDeployment(2)); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "catalog.yaml"), []byte(liveCatalog), 0o644); err != nil {
		t.Fatal(err)
	}
	base := apptest.Start(t, fmt.Sprintf(`catalog:
  rules: [{ allow: [Component] }]
  locations: [{ type: file, target: %q }]
plugins:
  openshift:
    config:
      clusters:
        - { name: east, url: %s, token: '${env:OCP_TEST_TOKEN}', kind: openshift }
      cardTimeout: 5s
`, filepath.Join(dir, "catalog.yaml"), simURL))
	return sim, simURL, base
}

// scale sets the shop deployment's replicas in the simulated cluster, as
// someone running kubectl scale would.
func scale(t *testing.T, simURL string, replicas int) {
	t.Helper()
	patch, _ := http.NewRequest("PATCH", simURL+"/apis/apps/v1/namespaces/default/deployments/web", strings.NewReader(fmt.Sprintf(`{"spec":{"replicas":%d}}`, replicas)))
	patch.Header.Set("Authorization", "Bearer "+token)
	patch.Header.Set("Content-Type", "application/merge-patch+json")
	res, err := http.DefaultClient.Do(patch)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("scale: %v %v", res, err)
	}
	res.Body.Close()
}
