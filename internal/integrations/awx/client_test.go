package awx_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/integrations/awx"
	"github.com/atrium-portal/atrium/internal/integrations/awx/awxsim"
)

const token = "sim-token-0123456789"

func newClient(t testing.TB, mod func(*awx.Config)) (*awx.Client, *awxsim.Sim) {
	t.Helper()
	sim := awxsim.New(token)
	sim.Pending, sim.Running = 30*time.Millisecond, 80*time.Millisecond
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	cfg := awx.Config{BaseURL: srv.URL, Token: token, MaxRetryWait: 2 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	c, err := awx.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, sim
}

func TestPagination(t *testing.T) {
	c, sim := newClient(t, func(c *awx.Config) { c.PageSize = 2 })
	for i := range 5 {
		sim.AddTemplate(awxsim.Template{ID: 100 + i, Name: fmt.Sprintf("extra %d", i)})
	}
	ts, err := c.Templates(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(ts), 8; got != want {
		t.Fatalf("templates = %d, want %d", got, want)
	}
	if got := sim.Requests("GET", "/job_templates/"); got != 4 {
		t.Errorf("list requests = %d, want 4 (pages of 2)", got)
	}
	wf, err := c.Templates(context.Background(), true)
	if err != nil || len(wf) != 1 || !wf[0].Workflow() {
		t.Errorf("workflows = %+v, %v", wf, err)
	}
}

func TestTemplateByNameOrID(t *testing.T) {
	c, _ := newClient(t, nil)
	ctx := context.Background()
	byName, err := c.Template(ctx, "Restart service", false)
	if err != nil || byName.ID != 8 {
		t.Fatalf("by name = %+v, %v", byName, err)
	}
	byID, err := c.Template(ctx, "8", false)
	if err != nil || byID.Name != "Restart service" {
		t.Fatalf("by id = %+v, %v", byID, err)
	}
	_, err = c.Template(ctx, "nope", false)
	if awx.StatusOf(err) != 404 || !strings.Contains(err.Error(), `no job template is named "nope"`) {
		t.Errorf("missing name: %v", err)
	}
	_, err = c.Template(ctx, "999", false)
	if awx.StatusOf(err) != 404 || !strings.Contains(err.Error(), "id 999") {
		t.Errorf("missing id: %v", err)
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("401", func(t *testing.T) {
		c, _ := newClient(t, func(c *awx.Config) { c.Token = "wrong" })
		_, err := c.Ping(ctx)
		if awx.StatusOf(err) != 401 || !strings.Contains(err.Error(), "check the token") {
			t.Errorf("err = %v", err)
		}
	})
	for _, status := range []int{403, 404, 409, 422} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			c, sim := newClient(t, nil)
			sim.Inject(awxsim.Fault{Path: "/ping/", Status: status})
			_, err := c.Ping(ctx)
			if awx.StatusOf(err) != status {
				t.Errorf("status = %d, want %d (%v)", awx.StatusOf(err), status, err)
			}
			if got := sim.Requests("GET", "/ping/"); got != 1 {
				t.Errorf("requests = %d, want 1 (no retry of %d)", got, status)
			}
		})
	}
	t.Run("429 Retry-After", func(t *testing.T) {
		c, sim := newClient(t, nil)
		sim.Inject(awxsim.Fault{Path: "/ping/", Status: 429, RetryAfter: 1, Times: 1})
		start := time.Now()
		if _, err := c.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		if el := time.Since(start); el < 900*time.Millisecond {
			t.Errorf("retried after %s, want ≥ 1s (Retry-After)", el)
		}
	})
	t.Run("429 too long", func(t *testing.T) {
		c, sim := newClient(t, nil)
		sim.Inject(awxsim.Fault{Path: "/ping/", Status: 429, RetryAfter: 120})
		_, err := c.Ping(ctx)
		if awx.StatusOf(err) != 429 || !strings.Contains(err.Error(), "longer than maxRetryWait") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("5xx retried", func(t *testing.T) {
		c, sim := newClient(t, nil)
		sim.Inject(awxsim.Fault{Path: "/ping/", Status: 502, RetryAfter: 0, Times: 2})
		if _, err := c.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		if got := sim.Requests("GET", "/ping/"); got != 3 {
			t.Errorf("requests = %d, want 3", got)
		}
	})
	t.Run("5xx gives up", func(t *testing.T) {
		c, sim := newClient(t, func(c *awx.Config) { c.MaxRetries = 1 })
		sim.Inject(awxsim.Fault{Path: "/ping/", Status: 503})
		_, err := c.Ping(ctx)
		if awx.StatusOf(err) != 503 {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("slow", func(t *testing.T) {
		c, sim := newClient(t, func(c *awx.Config) { c.Timeout = 100 * time.Millisecond; c.MaxRetries = -1 })
		sim.Inject(awxsim.Fault{Path: "/ping/", Delay: time.Second})
		_, err := c.Ping(ctx)
		if err == nil || !strings.Contains(err.Error(), "did not answer GET /api/v2/ping/ within 100ms") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestLaunchFollow(t *testing.T) {
	c, sim := newClient(t, nil)
	ctx := context.Background()
	tmpl, err := c.Template(ctx, "Configure monitoring", false)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := c.Inventory(ctx, "production")
	if err != nil || inv != 2 {
		t.Fatalf("inventory = %d, %v", inv, err)
	}
	j, err := c.Launch(ctx, tmpl, awx.LaunchOptions{ExtraVars: map[string]any{"service": "payments"}, Inventory: inv, Limit: "web1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := sim.LastVars()["service"]; got != "payments" {
		t.Errorf("extra_vars.service = %v", got)
	}
	var lines, statuses []string
	done, err := c.Follow(ctx, j, awx.FollowOptions{Poll: 20 * time.Millisecond, Line: func(l string) { lines = append(lines, l) },
		Status: func(s string) { statuses = append(statuses, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != "successful" {
		t.Errorf("status = %s", done.Status)
	}
	if statuses[len(statuses)-1] != "successful" || len(statuses) < 2 {
		t.Errorf("statuses = %v", statuses)
	}
	out := strings.Join(lines, "\n")
	if !strings.Contains(out, "PLAY RECAP") || !strings.Contains(out, "changed: [web1]") || strings.Count(out, "TASK [Gathering Facts]") != 1 {
		t.Errorf("output:\n%s", out)
	}
}

func TestLaunchFailedJob(t *testing.T) {
	c, _ := newClient(t, nil)
	ctx := context.Background()
	tmpl, _ := c.Template(ctx, "7", false)
	j, err := c.Launch(ctx, tmpl, awx.LaunchOptions{ExtraVars: map[string]any{"fail": true}})
	if err != nil {
		t.Fatal(err)
	}
	done, err := c.Follow(ctx, j, awx.FollowOptions{Poll: 20 * time.Millisecond})
	if err != nil || done.Status != "failed" || !done.Failed {
		t.Errorf("job = %+v, %v", done, err)
	}
}

func TestIgnoredFields(t *testing.T) {
	c, sim := newClient(t, nil)
	ctx := context.Background()
	tmpl, _ := c.Template(ctx, "Patch hosts", false)
	j, err := c.Launch(ctx, tmpl, awx.LaunchOptions{Limit: "db*", ExtraVars: map[string]any{"a": 1}})
	var ie *awx.IgnoredFieldsError
	if !errors.As(err, &ie) {
		t.Fatalf("err = %v, want IgnoredFieldsError", err)
	}
	if want := `AWX ignored extra_vars, limit: template "Patch hosts" does not prompt for extra_vars, limit on launch`; !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v", err)
	}
	if !sim.Canceled(j.ID) {
		t.Errorf("job %d started with ignored fields was not cancelled", j.ID)
	}
}

func TestCancelOnContext(t *testing.T) {
	c, sim := newClient(t, nil)
	sim.Running = 10 * time.Second
	tmpl, _ := c.Template(context.Background(), "7", false)
	j, err := c.Launch(context.Background(), tmpl, awx.LaunchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	_, err = c.Follow(ctx, j, awx.FollowOptions{Poll: 20 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "was cancelled") {
		t.Errorf("err = %v", err)
	}
	if !sim.Canceled(j.ID) {
		t.Error("job not cancelled")
	}
	done, _ := c.Job(context.Background(), j)
	if done.Status != "canceled" {
		t.Errorf("status = %s", done.Status)
	}
}

func TestWorkflow(t *testing.T) {
	c, _ := newClient(t, nil)
	ctx := context.Background()
	tmpl, err := c.Template(ctx, "Onboard service", true)
	if err != nil {
		t.Fatal(err)
	}
	j, err := c.Launch(ctx, tmpl, awx.LaunchOptions{ExtraVars: map[string]any{"service": "x"}})
	if err != nil || !j.Workflow() {
		t.Fatalf("launch = %+v, %v", j, err)
	}
	var lines []string
	done, err := c.Follow(ctx, j, awx.FollowOptions{Poll: 20 * time.Millisecond, Line: func(l string) { lines = append(lines, l) }})
	if err != nil || done.Status != "successful" {
		t.Fatalf("done = %+v, %v", done, err)
	}
	out := strings.Join(lines, "\n")
	if !strings.Contains(out, `"Configure monitoring" is successful`) || !strings.Contains(out, `"Restart service" is successful`) {
		t.Errorf("lines:\n%s", out)
	}
	recent, err := c.RecentJobs(ctx, tmpl, 5)
	if err != nil || len(recent) != 1 || recent[0].ID != j.ID {
		t.Errorf("recent = %+v, %v", recent, err)
	}
}

func TestNewRejectsBadURL(t *testing.T) {
	_, err := awx.New(awx.Config{BaseURL: "awx.example.com"})
	if err == nil || !strings.Contains(err.Error(), "not an http(s) URL") {
		t.Errorf("err = %v", err)
	}
}

var _ http.Handler = (*awxsim.Sim)(nil)

func TestCircuitBreaker(t *testing.T) {
	c, sim := newClient(t, func(c *awx.Config) {
		c.MaxRetries = -1
		c.BreakerThreshold = 2
		c.BreakerCooldown = 200 * time.Millisecond
	})
	ctx := context.Background()
	sim.Inject(awxsim.Fault{Path: "/ping/", Status: 503, Times: 3})
	for range 2 {
		if _, err := c.Ping(ctx); awx.StatusOf(err) != 503 {
			t.Fatalf("err = %v, want 503", err)
		}
	}
	_, err := c.Ping(ctx)
	var open *awx.BreakerOpenError
	if !errors.As(err, &open) || !strings.Contains(err.Error(), "after 2 failed requests in a row") {
		t.Fatalf("err = %v, want the open breaker", err)
	}
	if got := sim.Requests("GET", "/ping/"); got != 2 {
		t.Errorf("requests = %d, want 2 (the third refused without a request)", got)
	}
	time.Sleep(250 * time.Millisecond)
	// The probe fails (the third injected 503): open again at once.
	if _, err := c.Ping(ctx); awx.StatusOf(err) != 503 {
		t.Fatalf("probe err = %v", err)
	}
	if _, err := c.Ping(ctx); !errors.As(err, &open) {
		t.Fatalf("after a failed probe: %v, want the open breaker", err)
	}
	time.Sleep(250 * time.Millisecond)
	if _, err := c.Ping(ctx); err != nil {
		t.Fatalf("probe after recovery: %v", err)
	}
	if _, err := c.Ping(ctx); err != nil {
		t.Fatalf("closed again: %v", err)
	}
	// 4xx answers do not open it.
	sim.Inject(awxsim.Fault{Path: "/ping/", Status: 404, Times: 3})
	for range 3 {
		if _, err := c.Ping(ctx); awx.StatusOf(err) != 404 {
			t.Fatalf("err = %v, want 404", err)
		}
	}
}
