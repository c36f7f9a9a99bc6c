package azure_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/plugin"
	"github.com/atrium-portal/atrium/plugin/plugintest"
	"github.com/atrium-portal/atrium/plugins/azure"
)

func setup(t *testing.T, extra map[string]any) *azure.Plugin {
	t.Helper()
	p := azure.New(azure.Options{})
	cfg := map[string]any{
		"subscriptions": []any{
			map[string]any{"name": "sim", "subscriptionId": "11111111-2222-3333-4444-555555555555", "simulated": true},
		},
		"pollInterval": "10ms", "simulationStep": "40ms",
	}
	for k, v := range extra {
		cfg[k] = v
	}
	plugintest.Provision(t, p, cfg)
	return p
}

func workspace(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for n, c := range files {
		path := filepath.Join(dir, n)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestDeploymentInputErrors(t *testing.T) {
	p := setup(t, map[string]any{"maxTemplateBytes": 4000, "maxDeploymentTimeout": "1h"})
	p.SimulatedSubscription("sim").PutGroup("rg", "westeurope", nil)
	ws := workspace(t, map[string]string{
		"main.bicep":       "resource sa 'Microsoft.Storage/storageAccounts@2023-01-01' = {}",
		"big.json":         `{"resources": [], "pad": "` + strings.Repeat("x", 5000) + `"}`,
		"notarm.json":      `{"hello": "world"}`,
		"broken.json":      `{"resources": [`,
		"azuredeploy.json": armTemplate,
		"params.json":      `{"parameters": {"secret": {"reference": {"keyVault": {"id": "x"}, "secretName": "s"}}}}`,
	})
	for _, tc := range []struct {
		name  string
		input map[string]any
		want  string
	}{
		{"bicep", map[string]any{"resourceGroup": "rg", "template": "main.bicep"}, "Bicep compiler is not available"},
		{"escape", map[string]any{"resourceGroup": "rg", "template": "../etc/passwd"}, "inside the task's workspace"},
		{"missing", map[string]any{"resourceGroup": "rg", "template": "nope.json"}, `"nope.json" is not a file`},
		{"too big", map[string]any{"resourceGroup": "rg", "template": "big.json"}, "maxTemplateBytes"},
		{"not arm", map[string]any{"resourceGroup": "rg", "template": "notarm.json"}, "not an ARM template"},
		{"broken", map[string]any{"resourceGroup": "rg", "template": "broken.json"}, "not a JSON object"},
		{"key vault", map[string]any{"resourceGroup": "rg", "template": "azuredeploy.json", "parametersFile": "params.json"}, "Key Vault reference"},
		{"timeout", map[string]any{"resourceGroup": "rg", "template": "azuredeploy.json", "timeout": "3h"}, "maxDeploymentTimeout"},
		{"subscription", map[string]any{"subscription": "prod", "resourceGroup": "rg", "template": "azuredeploy.json"}, `"prod" is not a configured subscription (sim)`},
		{"invalid template", map[string]any{"resourceGroup": "rg", "template": "azuredeploy.json"}, "parameter 'appName' is not provided"},
		{"no group", map[string]any{"resourceGroup": "rg-none", "template": "azuredeploy.json", "parameters": map[string]any{"appName": "a"}}, "ResourceGroupNotFound"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := plugintest.RunActionRequest(t, p, "azure:deployment:create", plugin.ActionRequest{TaskID: "t1", Input: tc.input, Workspace: ws})
			if res.Err == nil || !strings.Contains(res.Err.Error(), tc.want) {
				t.Errorf("got %v, want %q", res.Err, tc.want)
			}
		})
	}
}

func TestParametersFileAndDryRun(t *testing.T) {
	p := setup(t, nil)
	sim := p.SimulatedSubscription("sim")
	sim.PutGroup("rg", "westeurope", nil)
	ws := workspace(t, map[string]string{
		"infra/azuredeploy.json":            armTemplate,
		"infra/azuredeploy.parameters.json": `{"$schema": "x", "contentVersion": "1.0.0.0", "parameters": {"appName": {"value": "fromfile"}}}`,
	})
	in := map[string]any{"resourceGroup": "rg", "template": "infra/azuredeploy.json", "parametersFile": "infra/azuredeploy.parameters.json"}
	res := plugintest.RunActionRequest(t, p, "azure:deployment:create", plugin.ActionRequest{TaskID: "t2", Input: in, Workspace: ws, DryRun: true})
	if res.Err != nil || res.Outputs["provisioningState"] != "dry-run" || sim.Deployments() != 0 || !strings.Contains(strings.Join(res.Logs, "\n"), "what-if: 3 to create") {
		t.Fatalf("dry run: %v %v (deployments %d)", res.Err, res.Outputs, sim.Deployments())
	}
	res = plugintest.RunActionRequest(t, p, "azure:deployment:create", plugin.ActionRequest{TaskID: "t2", Input: in, Workspace: ws})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	outs, _ := res.Outputs["outputs"].(map[string]any)
	if outs["siteName"] != "fromfile" || res.Outputs["name"] != "atrium-t2" || res.Outputs["provisioningState"] != "Succeeded" {
		t.Errorf("outputs = %v", res.Outputs)
	}
	in["parameters"] = map[string]any{"appName": "frominput"}
	in["name"] = "second"
	res = plugintest.RunActionRequest(t, p, "azure:deployment:create", plugin.ActionRequest{TaskID: "t2", Input: in, Workspace: ws})
	if outs, _ := res.Outputs["outputs"].(map[string]any); res.Err != nil || outs["siteName"] != "frominput" {
		t.Errorf("input parameters override the file: %v %v", res.Err, res.Outputs)
	}
}

// TestCancelledTaskCancelsDeployment: a task cancel ends the step and
// cancels the deployment in Azure.
func TestCancelledTaskCancelsDeployment(t *testing.T) {
	p := setup(t, map[string]any{"simulationStep": "2s"})
	sim := p.SimulatedSubscription("sim")
	sim.PutGroup("rg", "westeurope", nil)
	ws := workspace(t, map[string]string{"azuredeploy.json": armTemplate})
	a := plugintest.FindAction(t, p, "azure:deployment:create")
	ctx, cancel := context.WithCancelCause(context.Background())
	rep := &followedReporter{Reporter: &plugintest.Reporter{Outputs: map[string]any{}}, prefix: "deployment c is ", followed: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		done <- a.Run(ctx, plugin.ActionRequest{TaskID: "t3", Workspace: ws, Input: map[string]any{"resourceGroup": "rg", "name": "c", "template": "azuredeploy.json", "parameters": map[string]any{"appName": "c"}}}, rep)
	}()
	// Cancel once the deployment exists and is being followed (a fixed
	// sleep could cancel, under load, before the deployment was started).
	select {
	case <-rep.followed:
	case err := <-done:
		t.Fatalf("the action ended before the deployment was followed: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("the deployment was not followed within a minute")
	}
	cancel(plugin.ErrTaskCancelled)
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("no error after cancel")
		}
	case <-time.After(time.Minute):
		t.Fatal("the action did not end after cancel")
	}
	if !strings.Contains(strings.Join(rep.Logs, "\n"), "deployment c cancelled") {
		t.Errorf("logs: %v", rep.Logs)
	}
	if n := len(sim.Resources("rg")); n != 0 {
		t.Errorf("a cancelled deployment made %d resources", n)
	}
}

func TestEnsureGroupAction(t *testing.T) {
	p := setup(t, nil)
	in := map[string]any{"name": "rg-a", "location": "westeurope", "tags": map[string]any{"team": "ops"}}
	res := plugintest.RunAction(t, p, "azure:resourceGroup:ensure", in)
	if res.Err != nil || res.Outputs["result"] != "created" || !strings.HasSuffix(res.Outputs["id"].(string), "/resourceGroups/rg-a") {
		t.Fatalf("first: %v %v", res.Err, res.Outputs)
	}
	if res = plugintest.RunAction(t, p, "azure:resourceGroup:ensure", in); res.Err != nil || res.Outputs["result"] != "unchanged" {
		t.Errorf("second: %v %v", res.Err, res.Outputs)
	}
	in["location"] = "eastus"
	res = plugintest.RunAction(t, p, "azure:resourceGroup:ensure", in)
	if plugin.KindOf(res.Err) != plugin.ErrConflict || !strings.Contains(res.Err.Error(), "cannot move") {
		t.Errorf("other location: %v", res.Err)
	}
}

func TestValidateAndSecrets(t *testing.T) {
	p := azure.New(azure.Options{})
	cfg, _ := json.Marshal(map[string]any{"subscriptions": []any{map[string]any{"name": "prod", "subscriptionId": "11111111-2222-3333-4444-555555555555", "tenantId": "t", "clientId": "c"}}})
	ctx := context.Background()
	if err := p.Provision(ctx, plugin.Host{}, cfg); err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(ctx); err == nil || !strings.Contains(err.Error(), "subscriptions[0]") || !strings.Contains(err.Error(), "clientSecret") {
		t.Errorf("validate: %v", err)
	}
	cfg, _ = json.Marshal(map[string]any{"subscriptions": []any{map[string]any{"name": "prod", "subscriptionId": "11111111-2222-3333-4444-555555555555", "tenantId": "t", "clientId": "c", "clientSecret": "very-secret-value"}}})
	if err := p.Provision(ctx, plugin.Host{}, cfg); err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(ctx); err != nil {
		t.Fatal(err)
	}
	if got := p.SecretValues(); len(got) != 1 || got[0] != "very-secret-value" {
		t.Errorf("secret values = %v", got)
	}
	if p.Simulated() {
		t.Error("a real subscription is reported simulated")
	}

	demo := azure.New(azure.Options{Demo: true})
	plugintest.Provision(t, demo, nil)
	if !demo.Simulated() || demo.SimulatedSubscription("demo") == nil {
		t.Fatal("demo mode without subscriptions has no simulated subscription")
	}
	if n := len(demo.SimulatedSubscription("demo").Resources(azure.DemoResourceGroup)); n != 4 {
		t.Errorf("the demo's resource group holds %d resources, want 4", n)
	}
	v, err := plugintest.RenderCard(t, demo, "resources", map[string]any{"kind": "Component", "metadata": map[string]any{"name": "payment-service",
		"annotations": map[string]any{azure.AnnotationResourceGroup: "demo/" + azure.DemoResourceGroup}}})
	if b, _ := json.Marshal(v); err != nil || !strings.Contains(string(b), "payment-db") || !strings.Contains(string(b), "simulated Azure") {
		t.Errorf("demo card: %s, %v", b, err)
	}
}

func TestCardAnnotation(t *testing.T) {
	p := setup(t, nil)
	p.SimulatedSubscription("sim").PutGroup("rg", "westeurope", nil)
	entity := func(ann string) map[string]any {
		return map[string]any{"kind": "Component", "metadata": map[string]any{"name": "x", "annotations": map[string]any{azure.AnnotationResourceGroup: ann}}}
	}
	v, err := plugintest.RenderCard(t, p, "resources", entity("rg"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(v)
	if !strings.Contains(string(b), "No resources in this group yet") || !strings.Contains(string(b), "simulated Azure") || !strings.Contains(string(b), "Month-to-date cost") {
		t.Errorf("view = %s", b)
	}
	if _, err := plugintest.RenderCard(t, p, "resources", entity("sim/rg-none")); plugin.KindOf(err) != plugin.ErrNotFound {
		t.Errorf("missing group: %v", err)
	}
	if _, err := plugintest.RenderCard(t, p, "resources", entity("other/rg")); err == nil || !strings.Contains(err.Error(), "not a configured subscription") {
		t.Errorf("unknown subscription: %v", err)
	}
}

// followedReporter closes followed at the first log line that starts with
// prefix.
type followedReporter struct {
	*plugintest.Reporter
	prefix   string
	followed chan struct{}
	once     sync.Once
}

func (r *followedReporter) Log(level, message string) {
	r.Reporter.Log(level, message)
	if strings.HasPrefix(message, r.prefix) {
		r.once.Do(func() { close(r.followed) })
	}
}
