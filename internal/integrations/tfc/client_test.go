package tfc_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tfe "github.com/hashicorp/go-tfe"

	"github.com/atrium-portal/atrium/internal/integrations/tfc"
	"github.com/atrium-portal/atrium/internal/integrations/tfc/tfcsim"
)

const token = "tfc-test-token-0123456789"

func newClient(t testing.TB, mod func(*tfc.Config)) (*tfc.Client, *tfcsim.Sim) {
	t.Helper()
	sim := tfcsim.New(token, "example")
	sim.Step = 20 * time.Millisecond
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	sim.Base = srv.URL
	cfg := tfc.Config{Address: srv.URL, Token: token, Timeout: 5 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	c, err := tfc.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, sim
}

func writeConfig(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for n, c := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const mainTF = `resource "terraform_data" "db" {}
resource "terraform_data" "cache" {}

output "db_host" {
  value = "db.internal"
}

output "db_password" {
  value     = "hunter2"
  sensitive = true
}
`

func TestEnsureWorkspaceIdempotent(t *testing.T) {
	c, sim := newClient(t, nil)
	ctx := context.Background()
	prj := sim.AddProject("example", "platform")
	spec := tfc.WorkspaceSpec{Organization: "example", Name: "payments-db", Project: "platform", Tags: []string{"team-billing", "atrium"},
		AutoApply: tfe.Bool(false), ExecutionMode: "remote", WorkingDirectory: tfe.String("infra")}
	ws, created, err := c.EnsureWorkspace(ctx, spec)
	if err != nil || !created {
		t.Fatalf("first: %v, created %v", err, created)
	}
	if ws.Project == nil || ws.Project.ID != prj || ws.WorkingDirectory != "infra" || strings.Join(ws.TagNames, ",") != "atrium,team-billing" {
		t.Errorf("workspace = %+v (project %+v)", ws, ws.Project)
	}
	spec.AutoApply = tfe.Bool(true)
	ws2, created, err := c.EnsureWorkspace(ctx, spec)
	if err != nil || created || ws2.ID != ws.ID || !ws2.AutoApply {
		t.Errorf("second: %+v, created %v, %v", ws2, created, err)
	}
	_, _, err = c.EnsureWorkspace(ctx, tfc.WorkspaceSpec{Organization: "example", Name: "x", Project: "nope"})
	if tfc.Status(err) != 404 || !strings.Contains(err.Error(), `no project named "nope"`) {
		t.Errorf("unknown project: %v", err)
	}
	_, _, err = c.EnsureWorkspace(ctx, tfc.WorkspaceSpec{Organization: "example", Name: "bad name!"})
	if err == nil || !strings.Contains(err.Error(), "invalid value for workspace") {
		t.Errorf("bad name: %v", err)
	}
}

func TestVariables(t *testing.T) {
	c, sim := newClient(t, nil)
	ctx := context.Background()
	ws, _, err := c.EnsureWorkspace(ctx, tfc.WorkspaceSpec{Organization: "example", Name: "vars"})
	if err != nil {
		t.Fatal(err)
	}
	// More variables than a page of the list, so SetVariable pages.
	for i := range 120 {
		if _, err := c.SetVariable(ctx, ws.ID, tfc.Variable{Key: fmt.Sprintf("v%03d", i), Value: "x", Category: tfe.CategoryTerraform}); err != nil {
			t.Fatal(err)
		}
	}
	created, err := c.SetVariable(ctx, ws.ID, tfc.Variable{Key: "v119", Value: "y", Category: tfe.CategoryTerraform})
	if err != nil || created {
		t.Fatalf("update on page 2: created %v, %v", created, err)
	}
	if v := sim.Variable("example", "vars", "v119"); v.Value != "y" {
		t.Errorf("v119 = %q", v.Value)
	}
	if _, err := c.SetVariable(ctx, ws.ID, tfc.Variable{Key: "ARM_CLIENT_SECRET", Value: "s3cret", Category: tfe.CategoryEnv, Sensitive: true}); err != nil {
		t.Fatal(err)
	}
	if v := sim.Variable("example", "vars", "ARM_CLIENT_SECRET"); !v.Sensitive || v.Value != "s3cret" || v.Category != tfe.CategoryEnv {
		t.Errorf("secret = %+v", v)
	}
}

func TestRunToApplied(t *testing.T) {
	c, sim := newClient(t, nil)
	ctx := context.Background()
	ws, _, err := c.EnsureWorkspace(ctx, tfc.WorkspaceSpec{Organization: "example", Name: "app"})
	if err != nil {
		t.Fatal(err)
	}
	cv, err := c.Upload(ctx, ws.ID, writeConfig(t, map[string]string{"main.tf": mainTF}))
	if err != nil {
		t.Fatal(err)
	}
	run, err := c.CreateRun(ctx, ws.ID, cv.ID, "from a test", false)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sim.Files(run.ID)["main.tf"], "terraform_data") {
		t.Errorf("uploaded files = %v", sim.Files(run.ID))
	}
	var statuses []string
	// Without Apply, Follow stops at the confirmation.
	r, err := c.Follow(ctx, run.ID, tfc.FollowOptions{Poll: 10 * time.Millisecond, Status: func(r *tfe.Run) { statuses = append(statuses, string(r.Status)) }})
	if err != nil || r.Status != tfe.RunPolicyChecked || !r.Actions.IsConfirmable {
		t.Fatalf("run = %+v, %v", r, err)
	}
	if r.Plan == nil || r.Plan.ResourceAdditions != 2 {
		t.Errorf("plan = %+v", r.Plan)
	}
	r, err = c.Follow(ctx, run.ID, tfc.FollowOptions{Poll: 10 * time.Millisecond, Apply: true, Status: func(r *tfe.Run) { statuses = append(statuses, string(r.Status)) }})
	if err != nil || r.Status != tfe.RunApplied {
		t.Fatalf("run = %+v, %v", r, err)
	}
	got := strings.Join(statuses, " ")
	for _, want := range []string{"planning", "policy_checked", "applied"} {
		if !strings.Contains(got, want) {
			t.Errorf("statuses %q lack %s", got, want)
		}
	}
	outs, err := c.Outputs(ctx, ws.ID)
	if err != nil || len(outs) != 2 {
		t.Fatalf("outputs = %+v, %v", outs, err)
	}
	if outs[0].Name != "db_host" || outs[0].Value != "db.internal" || !outs[1].Sensitive || outs[1].Value != nil {
		t.Errorf("outputs = %+v", outs)
	}
	runs, err := c.Runs(ctx, ws.ID, 10)
	if err != nil || len(runs) != 1 || runs[0].ID != run.ID {
		t.Errorf("runs = %v, %v", runs, err)
	}
}

func TestRunFailures(t *testing.T) {
	c, _ := newClient(t, nil)
	ctx := context.Background()
	for _, tt := range []struct {
		marker string
		want   tfe.RunStatus
	}{{"# sim:plan-error", tfe.RunErrored}, {"# sim:policy-fail", tfe.RunPolicySoftFailed}} {
		ws, _, err := c.EnsureWorkspace(ctx, tfc.WorkspaceSpec{Organization: "example", Name: "f" + string(tt.want)})
		if err != nil {
			t.Fatal(err)
		}
		cv, err := c.Upload(ctx, ws.ID, writeConfig(t, map[string]string{"main.tf": tt.marker + "\n" + mainTF}))
		if err != nil {
			t.Fatal(err)
		}
		run, _ := c.CreateRun(ctx, ws.ID, cv.ID, "", true)
		r, err := c.Follow(ctx, run.ID, tfc.FollowOptions{Poll: 10 * time.Millisecond, Apply: true})
		if err != nil || r.Status != tt.want {
			t.Errorf("%s: run = %v, %v", tt.marker, r.Status, err)
		}
		if final, ok := tfc.Final(r.Status); !final || ok {
			t.Errorf("%s: final %v ok %v", tt.marker, final, ok)
		}
	}
}

func TestCancelOnContext(t *testing.T) {
	c, sim := newClient(t, nil)
	sim.Step = time.Second
	ctx := context.Background()
	ws, _, _ := c.EnsureWorkspace(ctx, tfc.WorkspaceSpec{Organization: "example", Name: "slow"})
	cv, err := c.Upload(ctx, ws.ID, writeConfig(t, map[string]string{"main.tf": mainTF}))
	if err != nil {
		t.Fatal(err)
	}
	run, _ := c.CreateRun(ctx, ws.ID, cv.ID, "", true)
	fctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	_, err = c.Follow(fctx, run.ID, tfc.FollowOptions{Poll: 20 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "was cancelled") {
		t.Fatalf("err = %v", err)
	}
	r, _ := c.Run(ctx, run.ID)
	if r.Status != tfe.RunCanceled {
		t.Errorf("status = %s", r.Status)
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("401", func(t *testing.T) {
		c, _ := newClient(t, func(c *tfc.Config) { c.Token = "wrong" })
		_, err := c.Workspace(ctx, "example", "x")
		if tfc.Status(err) != 401 {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("404 organization", func(t *testing.T) {
		c, _ := newClient(t, nil)
		_, _, err := c.EnsureWorkspace(ctx, tfc.WorkspaceSpec{Organization: "nope", Name: "x"})
		if tfc.Status(err) != 404 {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("403", func(t *testing.T) {
		c, sim := newClient(t, nil)
		sim.Inject(tfcsim.Fault{Path: "/organizations/example/workspaces/x", Status: 403})
		_, err := c.Workspace(ctx, "example", "x")
		if err == nil {
			t.Error("no error")
		}
	})
	t.Run("409 apply not allowed", func(t *testing.T) {
		c, sim := newClient(t, nil)
		sim.Inject(tfcsim.Fault{Method: "POST", Path: "/runs/", Status: 409})
		ws, _, _ := c.EnsureWorkspace(ctx, tfc.WorkspaceSpec{Organization: "example", Name: "c"})
		cv, err := c.Upload(ctx, ws.ID, writeConfig(t, map[string]string{"main.tf": mainTF}))
		if err != nil {
			t.Fatal(err)
		}
		run, _ := c.CreateRun(ctx, ws.ID, cv.ID, "", false)
		_, err = c.Follow(ctx, run.ID, tfc.FollowOptions{Poll: 10 * time.Millisecond, Apply: true})
		if err == nil || !strings.Contains(err.Error(), "applying run") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("422", func(t *testing.T) {
		c, _ := newClient(t, nil)
		ws, _, _ := c.EnsureWorkspace(ctx, tfc.WorkspaceSpec{Organization: "example", Name: "dup"})
		_, err := c.SetVariable(ctx, ws.ID, tfc.Variable{Key: "", Category: tfe.CategoryEnv})
		if err == nil {
			t.Error("no error for an empty key")
		}
	})
	t.Run("429 then ok", func(t *testing.T) {
		c, sim := newClient(t, nil)
		sim.Inject(tfcsim.Fault{Path: "/organizations/example/workspaces/", Status: 429, RetryAfter: 1, Times: 1})
		_, _, err := c.EnsureWorkspace(ctx, tfc.WorkspaceSpec{Organization: "example", Name: "rl"})
		if err != nil {
			t.Fatal(err)
		}
		if got := sim.Requests("GET", "/organizations/example/workspaces/rl"); got < 2 {
			t.Errorf("requests = %d, want a retry", got)
		}
	})
	t.Run("5xx retried", func(t *testing.T) {
		c, sim := newClient(t, nil)
		sim.Inject(tfcsim.Fault{Path: "/organizations/example/workspaces/", Status: 502, Times: 2})
		if _, _, err := c.EnsureWorkspace(ctx, tfc.WorkspaceSpec{Organization: "example", Name: "flaky"}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("slow", func(t *testing.T) {
		c, sim := newClient(t, func(c *tfc.Config) { c.Timeout = 100 * time.Millisecond })
		sim.Inject(tfcsim.Fault{Path: "/organizations/example/workspaces/", Delay: time.Second})
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		_, err := c.Workspace(cctx, "example", "slow")
		if err == nil {
			t.Error("no error for a slow answer")
		}
	})
}

func TestNewNeedsPing(t *testing.T) {
	_, err := tfc.New(tfc.Config{Address: "app.terraform.io"})
	if err == nil || !strings.Contains(err.Error(), "not an http(s) URL") {
		t.Errorf("err = %v", err)
	}
}

func TestCircuitBreaker(t *testing.T) {
	c, sim := newClient(t, func(c *tfc.Config) { c.BreakerThreshold = 1; c.BreakerCooldown = 300 * time.Millisecond })
	ctx := context.Background()
	sim.Inject(tfcsim.Fault{Path: "/organizations/example/workspaces/down", Status: 503})
	if _, err := c.Workspace(ctx, "example", "down"); err == nil {
		t.Fatal("no error from a down server")
	}
	before := sim.Requests("GET", "/organizations/example/workspaces/down")
	_, err := c.Workspace(ctx, "example", "down")
	var open *tfc.BreakerOpenError
	if !errors.As(err, &open) || !strings.Contains(err.Error(), "Terraform is treated as down") {
		t.Fatalf("err = %v, want the open breaker", err)
	}
	if got := sim.Requests("GET", "/organizations/example/workspaces/down"); got != before {
		t.Errorf("requests %d → %d: the open breaker let a request through", before, got)
	}
	time.Sleep(350 * time.Millisecond)
	// A 404 is an answer: the probe closes the breaker.
	if _, err := c.Workspace(ctx, "example", "missing"); tfc.Status(err) != 404 {
		t.Fatalf("probe: %v", err)
	}
	if _, _, err := c.EnsureWorkspace(ctx, tfc.WorkspaceSpec{Organization: "example", Name: "up"}); err != nil {
		t.Fatalf("closed again: %v", err)
	}
}
