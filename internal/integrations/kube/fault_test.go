package kube_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/integrations/kube"
	"github.com/atrium-portal/atrium/internal/integrations/kube/kubesim"
)

// startWith is start with a client configuration of the test's own.
func startWith(t *testing.T, cfg kube.Config) (*kubesim.Sim, *kube.Client) {
	t.Helper()
	sim := kubesim.New(token, true)
	sim.PodStart = 10 * time.Millisecond
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	cfg.Name, cfg.URL, cfg.Kind = "test", srv.URL, kube.KindOpenShift
	if cfg.Token == "" {
		cfg.Token = token
	}
	c, err := kube.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sim, c
}

func TestPagination(t *testing.T) {
	sim, c := startWith(t, kube.Config{PageSize: 2})
	for i := range 7 {
		err := sim.Seed(map[string]any{"apiVersion": "v1", "kind": "Service",
			"metadata": map[string]any{"name": fmt.Sprintf("s%d", i), "namespace": "default", "labels": map[string]any{"app": "x"}},
			"spec":     map[string]any{"ports": []any{map[string]any{"port": 80 + i}}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	w, err := c.Workloads(context.Background(), "app=x", "default")
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Services) != 7 || w.Services[6].Name != "s6" {
		t.Errorf("services = %+v", w.Services)
	}
	if got := sim.Requests("GET", "/namespaces/default/services"); got != 4 {
		t.Errorf("list requests = %d, want 4 (pages of 2)", got)
	}
}

func TestErrorStatuses(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		fault  kubesim.Fault
		token  string
		status int
		want   string
	}{
		{name: "401", token: "wrong", status: 401, want: "refused the token"},
		{name: "403", fault: kubesim.Fault{Method: "GET", Path: "/deployments", Status: 403}, status: 403, want: "forbids it"},
		{name: "404", fault: kubesim.Fault{Method: "GET", Path: "/pods", Status: 404}, status: 404, want: "cluster test"},
		{name: "500 not retried", fault: kubesim.Fault{Method: "GET", Path: "/deployments", Status: 500}, status: 500, want: "retry later"},
		{name: "503 given up", fault: kubesim.Fault{Method: "GET", Path: "/deployments", Status: 503}, status: 503, want: "failed (503)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, c := startWith(t, kube.Config{Token: tt.token, MaxRetries: 2})
			if tt.fault.Status != 0 {
				sim.Inject(tt.fault)
			}
			_, err := c.Workloads(ctx, "app=x", "")
			if err == nil {
				t.Fatal("no error")
			}
			if got := kube.StatusOf(err); got != tt.status {
				t.Errorf("status = %d, want %d (%v)", got, tt.status, err)
			}
			if d := c.Describe(err); !strings.Contains(d, tt.want) {
				t.Errorf("Describe = %q, want %q in it", d, tt.want)
			}
		})
	}
}

func TestRetries(t *testing.T) {
	ctx := context.Background()
	t.Run("5xx retried", func(t *testing.T) {
		sim, c := startWith(t, kube.Config{})
		sim.Inject(kubesim.Fault{Method: "GET", Path: "/deployments", Status: 503, Times: 2})
		if _, err := c.Workloads(ctx, "app=x", ""); err != nil {
			t.Fatal(err)
		}
		if got := sim.Requests("GET", "/deployments"); got != 3 {
			t.Errorf("requests = %d, want 3", got)
		}
	})
	t.Run("503 not retried when maxRetries is -1", func(t *testing.T) {
		sim, c := startWith(t, kube.Config{MaxRetries: -1})
		sim.Inject(kubesim.Fault{Method: "GET", Path: "/deployments", Status: 503, Times: 1})
		if _, err := c.Workloads(ctx, "app=x", ""); kube.StatusOf(err) != 503 {
			t.Fatalf("got %v, want 503", err)
		}
	})
	t.Run("429 Retry-After waited", func(t *testing.T) {
		sim, c := startWith(t, kube.Config{})
		sim.Inject(kubesim.Fault{Method: "GET", Path: "/deployments", Status: 429, RetryAfter: 1, Times: 1})
		start := time.Now()
		if _, err := c.Workloads(ctx, "app=x", ""); err != nil {
			t.Fatal(err)
		}
		if el := time.Since(start); el < 900*time.Millisecond {
			t.Errorf("answered after %s, want the 1s Retry-After waited", el)
		}
		if got := sim.Requests("GET", "/deployments"); got != 2 {
			t.Errorf("requests = %d, want 2", got)
		}
	})
	t.Run("slow cluster times out", func(t *testing.T) {
		sim, c := startWith(t, kube.Config{Timeout: 200 * time.Millisecond})
		sim.Inject(kubesim.Fault{Path: "/deployments", Delay: 2 * time.Second})
		start := time.Now()
		_, err := c.Workloads(ctx, "app=x", "")
		if err == nil {
			t.Fatal("no error")
		}
		if el := time.Since(start); el > 1500*time.Millisecond {
			t.Errorf("gave up after %s, want about the 200ms timeout", el)
		}
		if d := c.Describe(err); !strings.Contains(d, "cannot be reached") {
			t.Errorf("Describe = %q", d)
		}
	})
	t.Run("409 on apply not retried", func(t *testing.T) {
		sim, c := startWith(t, kube.Config{})
		sim.Inject(kubesim.Fault{Method: "PATCH", Path: "/configmaps/", Status: 409})
		ms, _ := kube.Decode([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n"), "cm.yaml", 0)
		_, err := c.Apply(ctx, ms, kube.ApplyOptions{Namespace: "default"})
		if err == nil || !strings.Contains(err.Error(), "ConfigMap/default/c (cm.yaml#1)") {
			t.Fatalf("got %v", err)
		}
		if got := sim.Requests("PATCH", "/configmaps/c"); got != 1 {
			t.Errorf("patches = %d, want 1", got)
		}
	})
}

func TestCircuitBreaker(t *testing.T) {
	ctx := context.Background()
	sim, c := startWith(t, kube.Config{MaxRetries: -1, BreakerThreshold: 3, BreakerCooldown: 300 * time.Millisecond})
	sim.Inject(kubesim.Fault{Method: "GET", Path: "/deployments", Status: 500, Times: 4})
	for i := range 3 {
		if _, err := c.Workloads(ctx, "app=x", ""); kube.StatusOf(err) != 500 {
			t.Fatalf("call %d: got %v, want 500", i, err)
		}
	}
	_, err := c.Workloads(ctx, "app=x", "")
	if !errors.Is(err, kube.ErrCircuitOpen) || !strings.Contains(c.Describe(err), "is not asked for now") {
		t.Fatalf("open breaker: got %v", err)
	}
	if got := sim.Requests("GET", "/deployments"); got != 3 {
		t.Errorf("requests = %d, want 3 (the open breaker sends none)", got)
	}
	time.Sleep(350 * time.Millisecond)
	if _, err := c.Workloads(ctx, "app=x", ""); kube.StatusOf(err) != 500 {
		t.Fatalf("probe: got %v, want the 4th injected 500", err)
	}
	if _, err := c.Workloads(ctx, "app=x", ""); !errors.Is(err, kube.ErrCircuitOpen) {
		t.Fatalf("after a failed probe: got %v, want the breaker open again", err)
	}
	time.Sleep(350 * time.Millisecond)
	if _, err := c.Workloads(ctx, "app=x", ""); err != nil {
		t.Fatalf("after a good probe: %v", err)
	}
	if _, err := c.Workloads(ctx, "app=x", ""); err != nil {
		t.Fatalf("closed breaker: %v", err)
	}
}
