package kube_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/integrations/kube"
)

// TestLiveCluster talks to a real Kubernetes or OpenShift cluster when one
// is configured, read-only: it lists the workloads of a label selector in a
// namespace. It never runs unconfigured (CI has no cluster) and says how to
// run it.
func TestLiveCluster(t *testing.T) {
	url, token := os.Getenv("ATRIUM_LIVE_KUBE_URL"), os.Getenv("ATRIUM_LIVE_KUBE_TOKEN")
	if url == "" || token == "" {
		t.Skip("set ATRIUM_LIVE_KUBE_URL (https://api.cluster:6443), ATRIUM_LIVE_KUBE_TOKEN (a service account token that may list in the namespace), and optionally ATRIUM_LIVE_KUBE_KIND (openshift|kubernetes), ATRIUM_LIVE_KUBE_NAMESPACE (default: default) and ATRIUM_LIVE_KUBE_CA (a PEM file) to run against a real cluster")
	}
	kind := os.Getenv("ATRIUM_LIVE_KUBE_KIND")
	if kind == "" {
		kind = kube.KindKubernetes
	}
	ns := os.Getenv("ATRIUM_LIVE_KUBE_NAMESPACE")
	if ns == "" {
		ns = "default"
	}
	var ca []byte
	if f := os.Getenv("ATRIUM_LIVE_KUBE_CA"); f != "" {
		var err error
		if ca, err = os.ReadFile(f); err != nil {
			t.Fatal(err)
		}
	}
	c, err := kube.New(kube.Config{Name: "live", URL: url, Token: token, CAData: ca, Kind: kind, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w, err := c.Workloads(ctx, "app.kubernetes.io/managed-by", ns)
	if err != nil {
		t.Fatalf("workloads in %s: %s", ns, c.Describe(err))
	}
	t.Logf("%s: %d deployments, %d pods, %d services, %d routes with app.kubernetes.io/managed-by", ns, len(w.Deployments), len(w.Pods), len(w.Services), len(w.Routes))
}
