package kube_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/atrium-portal/atrium/internal/integrations/kube"
	"github.com/atrium-portal/atrium/internal/integrations/kube/kubesim"
)

// BenchmarkWorkloads reads the workloads of one selector from a simulated
// cluster holding 50 matching deployments (100 pods, 50 services, 50
// routes): what one cluster costs the Workloads card. The client's rate
// limit is raised so that the request cost shows (at the default 20 QPS,
// a sequence of cards is paced at 4 requests per card).
func BenchmarkWorkloads(b *testing.B) {
	c := benchCluster(b)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Workloads(ctx, "backstage.io/kubernetes-id=shop", ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLiveWorkloads reads the same workloads as BenchmarkWorkloads
// from the informers' cache (kube.Live): what one cluster costs the live
// Workloads card once the scope is watched, with no request.
func BenchmarkLiveWorkloads(b *testing.B) {
	c := benchCluster(b)
	live := c.Live(kube.LiveConfig{})
	b.Cleanup(live.Close)
	ctx := context.Background()
	w, err := live.Workloads(ctx, "backstage.io/kubernetes-id=shop", "", "component:default/shop")
	if err != nil || len(w.Deployments) != 50 || len(w.Pods) != 100 {
		b.Fatalf("workloads: %d deployments, %d pods, %v", len(w.Deployments), len(w.Pods), err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := live.Workloads(ctx, "backstage.io/kubernetes-id=shop", "", "component:default/shop"); err != nil {
			b.Fatal(err)
		}
	}
}

// benchCluster is a simulated cluster holding 50 deployments of the
// selector (100 pods, 50 services, 50 routes) and its client.
func benchCluster(b *testing.B) *kube.Client {
	sim := kubesim.New(token, true)
	srv := httptest.NewServer(sim)
	b.Cleanup(srv.Close)
	c, err := kube.New(kube.Config{Name: "bench", URL: srv.URL, Token: token, Kind: kube.KindOpenShift, QPS: 10000, Burst: 10000})
	if err != nil {
		b.Fatal(err)
	}
	for i := range 50 {
		name := fmt.Sprintf("web-%d", i)
		labels := map[string]any{"app": name, "backstage.io/kubernetes-id": "shop"}
		for _, o := range []map[string]any{
			{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": name, "namespace": "default", "labels": labels},
				"spec": map[string]any{"replicas": 2, "selector": map[string]any{"matchLabels": map[string]any{"app": name}},
					"template": map[string]any{"metadata": map[string]any{"labels": labels},
						"spec": map[string]any{"containers": []any{map[string]any{"name": "c", "image": "web:1"}}}}}},
			{"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": name, "namespace": "default", "labels": labels},
				"spec": map[string]any{"ports": []any{map[string]any{"port": 80}}}},
			{"apiVersion": "route.openshift.io/v1", "kind": "Route", "metadata": map[string]any{"name": name, "namespace": "default", "labels": labels},
				"spec": map[string]any{"to": map[string]any{"name": name}}},
		} {
			if err := sim.Seed(o); err != nil {
				b.Fatal(err)
			}
		}
	}
	w, err := c.Workloads(context.Background(), "backstage.io/kubernetes-id=shop", "")
	if err != nil || len(w.Deployments) != 50 || len(w.Pods) != 100 {
		b.Fatalf("workloads: %d deployments, %d pods, %v", len(w.Deployments), len(w.Pods), err)
	}
	return c
}
