package kube_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/atrium-portal/atrium/internal/integrations/kube"
	"github.com/atrium-portal/atrium/internal/integrations/kube/kubesim"
)

// next waits for the next event of a watch, failing after a while.
func next(t *testing.T, w watch.Interface) watch.Event {
	t.Helper()
	select {
	case ev, ok := <-w.ResultChan():
		if !ok {
			t.Fatal("the watch ended")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no watch event")
	}
	return watch.Event{}
}

// TestSimWatch watches deployments of the simulator with client-go's
// dynamic client: the current objects come as ADDED from version 0, a
// scale is MODIFIED from the list's version, a delete DELETED, and a
// version older than the history kept ends the watch with 410 Expired.
func TestSimWatch(t *testing.T) {
	sim := kubesim.New(token, false)
	sim.WatchHistory = 5
	srv := httptest.NewServer(sim)
	defer srv.Close()
	dyn, err := dynamic.NewForConfig(&rest.Config{Host: srv.URL, BearerToken: token})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Seed(deployment("web", "shop", 1)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	deps := dyn.Resource(kube.GVRDeployment).Namespace("default")
	list, err := deps.List(ctx, metav1.ListOptions{LabelSelector: "backstage.io/kubernetes-id=shop"})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}

	w0, err := deps.Watch(ctx, metav1.ListOptions{LabelSelector: "backstage.io/kubernetes-id=shop", ResourceVersion: "0"})
	if err != nil {
		t.Fatal(err)
	}
	if ev := next(t, w0); ev.Type != watch.Added {
		t.Errorf("from version 0: got %s, want ADDED", ev.Type)
	}
	w0.Stop()

	w, err := deps.Watch(ctx, metav1.ListOptions{LabelSelector: "backstage.io/kubernetes-id=shop", ResourceVersion: list.GetResourceVersion()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if _, err := deps.Patch(ctx, "web", "application/merge-patch+json", []byte(`{"spec":{"replicas":3}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	ev := next(t, w)
	for ev.Type == watch.Modified && replicas(ev) != 3 {
		ev = next(t, w) // status updates of the controller
	}
	if ev.Type != watch.Modified || replicas(ev) != 3 {
		t.Errorf("after the scale: got %s with %d replicas, want MODIFIED with 3", ev.Type, replicas(ev))
	}
	if err := deps.Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for ev = next(t, w); ev.Type == watch.Modified; ev = next(t, w) {
	}
	if ev.Type != watch.Deleted {
		t.Errorf("after the delete: got %s, want DELETED", ev.Type)
	}
	if n := sim.Requests("WATCH", "/deployments"); n != 2 {
		t.Errorf("watch requests counted: got %d, want 2", n)
	}

	// Far more changes than the history holds: version 1 is gone.
	for i := range 4 {
		if err := sim.Seed(deployment("api", "other", int64(i+1))); err != nil {
			t.Fatal(err)
		}
	}
	old, err := deps.Watch(ctx, metav1.ListOptions{ResourceVersion: "1"})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Stop()
	ev = next(t, old)
	st, _ := ev.Object.(*metav1.Status)
	if ev.Type != watch.Error || st == nil || st.Code != 410 || st.Reason != metav1.StatusReasonExpired {
		t.Errorf("too old a version: got %s %+v, want ERROR 410 Expired", ev.Type, ev.Object)
	}
}

func replicas(ev watch.Event) int64 {
	u, ok := ev.Object.(interface{ UnstructuredContent() map[string]any })
	if !ok {
		return -1
	}
	spec, _ := u.UnstructuredContent()["spec"].(map[string]any)
	switch n := spec["replicas"].(type) {
	case int64:
		return n
	case float64:
		return int64(n)
	}
	return -1
}

func deployment(name, id string, replicas int64) map[string]any {
	labels := map[string]any{"app": name, "backstage.io/kubernetes-id": id}
	return map[string]any{"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": name, "namespace": "default", "labels": labels},
		"spec": map[string]any{"replicas": replicas, "selector": map[string]any{"matchLabels": map[string]any{"app": name}},
			"template": map[string]any{"metadata": map[string]any{"labels": labels},
				"spec": map[string]any{"containers": []any{map[string]any{"name": name, "image": "registry.example.com/" + name + ":1"}}}}}}
}

// TestLiveWorkloads serves the workloads of a selector from informers:
// after the first view, a scale in the simulator shows in the cache with
// no further list call, the viewer is notified, and an idle scope is
// released.
func TestLiveWorkloads(t *testing.T) {
	sim, c := start(t, true)
	if err := sim.Seed(deployment("web", "shop", 2)); err != nil {
		t.Fatal(err)
	}
	var (
		mu       sync.Mutex
		notified []string
	)
	now := time.Now()
	var clock sync.Mutex
	live := c.Live(kube.LiveConfig{Debounce: 10 * time.Millisecond, IdleAfter: time.Hour, Sweep: 10 * time.Millisecond, Notify: func(refs []string) {
		mu.Lock()
		defer mu.Unlock()
		notified = append(notified, refs...)
	}, Now: func() time.Time { clock.Lock(); defer clock.Unlock(); return now }})
	defer live.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w, err := live.Workloads(ctx, "backstage.io/kubernetes-id=shop", "", "component:default/shop")
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Deployments) != 1 || w.Deployments[0].Desired != 2 {
		t.Fatalf("first view: %+v", w.Deployments)
	}
	// client-go lists by watching (a streaming list, WatchListClient).
	lists := sim.Requests("GET", "/deployments")
	if n := sim.Requests("WATCH", "/deployments"); n == 0 {
		t.Fatal("the informer does not watch deployments")
	}

	if _, err := c.Dynamic().Resource(kube.GVRDeployment).Namespace("default").Patch(ctx, "web", "application/merge-patch+json", []byte(`{"spec":{"replicas":5}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	for {
		w, err = live.Workloads(ctx, "backstage.io/kubernetes-id=shop", "", "component:default/shop")
		if err != nil {
			t.Fatal(err)
		}
		if len(w.Deployments) == 1 && w.Deployments[0].Desired == 5 && w.Deployments[0].Ready == 5 && len(w.Pods) == 5 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the cache never showed the scale: %+v, %d pods", w.Deployments, len(w.Pods))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := sim.Requests("GET", "/deployments"); got != lists {
		t.Errorf("list calls of deployments: %d after the views, %d before; want none more (the cache serves the card)", got, lists)
	}
	for {
		mu.Lock()
		got := strings.Join(notified, " ")
		mu.Unlock()
		if strings.Contains(got, "component:default/shop") {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the viewer was not notified: %q", got)
		}
		time.Sleep(10 * time.Millisecond)
	}

	if live.Scopes() != 1 {
		t.Errorf("scopes: got %d, want 1", live.Scopes())
	}
	clock.Lock()
	now = now.Add(2 * time.Hour)
	clock.Unlock()
	for live.Scopes() != 0 {
		if ctx.Err() != nil {
			t.Fatal("the idle scope was not released")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
