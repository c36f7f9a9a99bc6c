package azure_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/integrations/azure"
	"github.com/atrium-portal/atrium/internal/integrations/azure/azuresim"
	"github.com/atrium-portal/atrium/plugin"
)

const subID = "00000000-0000-0000-0000-00000000abcd"

func simClient(t testing.TB, sim *azuresim.Sim) *azure.Client {
	t.Helper()
	c, err := azure.New(azure.Config{SubscriptionID: sim.SubscriptionID, Credential: azuresim.Credential(), Transport: sim.Transport(), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var storageTemplate = map[string]any{
	"$schema":        "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
	"contentVersion": "1.0.0.0",
	"parameters": map[string]any{
		"appName":  map[string]any{"type": "string"},
		"location": map[string]any{"type": "string", "defaultValue": "[resourceGroup().location]"},
	},
	"variables": map[string]any{"account": "[toLower(concat(parameters('appName'), 'st'))]"},
	"resources": []any{
		map[string]any{"type": "Microsoft.Storage/storageAccounts", "name": "[variables('account')]", "location": "[parameters('location')]"},
		map[string]any{"type": "Microsoft.Web/sites", "name": "[parameters('appName')]"},
	},
	"outputs": map[string]any{
		"account": map[string]any{"type": "string", "value": "[variables('account')]"},
		"rg":      map[string]any{"type": "string", "value": "[resourceGroup().name]"},
	},
}

// TestSimulatedDeployment runs the whole path against the simulator: a
// group, a deployment progressing to Succeeded, its resources (paged)
// and the group's cost.
func TestSimulatedDeployment(t *testing.T) {
	sim := azuresim.New(subID)
	sim.Step = 30 * time.Millisecond
	sim.PageSize = 1
	c := simClient(t, sim)
	ctx := context.Background()

	g, res, err := c.EnsureGroup(ctx, "rg-pay", "westeurope", map[string]string{"idp-component": "pay"})
	if err != nil || res != azure.GroupCreated || g.Location != "westeurope" {
		t.Fatalf("ensure: %+v %v %v", g, res, err)
	}
	if _, res, err = c.EnsureGroup(ctx, "rg-pay", "West Europe", map[string]string{"idp-component": "pay"}); err != nil || res != azure.GroupUnchanged {
		t.Fatalf("ensure again: %v %v", res, err)
	}
	if _, res, err = c.EnsureGroup(ctx, "rg-pay", "westeurope", map[string]string{"team": "ops"}); err != nil || res != azure.GroupUpdated {
		t.Fatalf("ensure with a new tag: %v %v", res, err)
	}
	if got := sim.Group("rg-pay").Tags; got["team"] != "ops" || got["idp-component"] != "pay" {
		t.Errorf("tags = %v", got)
	}
	_, _, err = c.EnsureGroup(ctx, "rg-pay", "eastus", nil)
	if plugin.KindOf(err) != plugin.ErrConflict || !strings.Contains(err.Error(), "westeurope") {
		t.Errorf("other location: %v", err)
	}

	changes, err := c.WhatIf(ctx, "rg-pay", "dep1", storageTemplate, map[string]any{"appName": "Pay"}, 5*time.Millisecond)
	if err != nil || len(changes) != 2 || changes[0].Type != "Create" || !strings.HasSuffix(changes[0].ResourceID, "/providers/Microsoft.Storage/storageAccounts/payst") {
		t.Fatalf("what-if before: %+v, %v", changes, err)
	}
	d, err := c.StartDeployment(ctx, "rg-pay", "dep1", storageTemplate, map[string]any{"appName": "Pay"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	st, err := d.Follow(ctx, azure.FollowOptions{Poll: 10 * time.Millisecond, State: func(s azure.DeploymentState) { states = append(states, s.ProvisioningState) }})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(states, ","); got != "Accepted,Running,Succeeded" {
		t.Errorf("states = %s, want Accepted,Running,Succeeded", got)
	}
	if st.Outputs["account"] != "payst" || st.Outputs["rg"] != "rg-pay" || len(st.Resources) != 2 {
		t.Errorf("state = %+v", st)
	}
	rs, err := c.Resources(ctx, "rg-pay", 0)
	if err != nil || len(rs) != 2 {
		t.Fatalf("resources (two pages of one) = %+v, %v", rs, err)
	}
	if rs[0].Type != "Microsoft.Storage/storageAccounts" || rs[0].Location != "westeurope" || rs[1].Name != "Pay" {
		t.Errorf("resources = %+v", rs)
	}
	changes, err = c.WhatIf(ctx, "rg-pay", "dep2", storageTemplate, map[string]any{"appName": "Pay"}, 5*time.Millisecond)
	if err != nil || len(changes) != 2 || changes[0].Type != "NoChange" || changes[1].Type != "NoChange" {
		t.Errorf("what-if after: %+v, %v", changes, err)
	}
	if _, err := c.WhatIf(ctx, "rg-pay", "dep3", storageTemplate, nil, 5*time.Millisecond); plugin.KindOf(err) != plugin.ErrInvalid || !strings.Contains(err.Error(), "appName") {
		t.Errorf("what-if of an invalid template: %v", err)
	}
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	cost, err := c.MonthToDate(ctx, "rg-pay", now)
	if err != nil {
		t.Fatal(err)
	}
	if len(cost.Days) != 6 || cost.Currency != "EUR" || cost.Total <= 0 || !cost.Days[0].Day.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("cost = %+v", cost)
	}
}

// TestResumeFromToken follows a deployment from its resume token with a
// new client and a new simulator read back from the state file, as after
// an Atrium restart.
func TestResumeFromToken(t *testing.T) {
	file := t.TempDir() + "/sim.json"
	sim := azuresim.New(subID)
	sim.Step = 50 * time.Millisecond
	if err := sim.Persist(file); err != nil {
		t.Fatal(err)
	}
	sim.PutGroup("rg", "westeurope", nil)
	ctx := context.Background()
	d, err := simClient(t, sim).StartDeployment(ctx, "rg", "dep", storageTemplate, map[string]any{"appName": "x"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	token, err := d.ResumeToken()
	if err != nil {
		t.Fatal(err)
	}

	again := azuresim.New(subID)
	again.Step = 50 * time.Millisecond
	if err := again.Persist(file); err != nil {
		t.Fatal(err)
	}
	c := simClient(t, again)
	d, err = c.ResumeDeployment(ctx, "rg", "dep", token)
	if err != nil {
		t.Fatal(err)
	}
	st, err := d.Follow(ctx, azure.FollowOptions{Poll: 10 * time.Millisecond})
	if err != nil || st.ProvisioningState != "Succeeded" || st.Outputs["account"] != "xst" {
		t.Fatalf("resumed: %+v, %v", st, err)
	}
	if n := again.Deployments(); n != 0 {
		t.Errorf("the resumed simulator started %d deployments, want 0", n)
	}
	if _, err := c.ResumeDeployment(ctx, "rg", "dep", "not a token"); plugin.KindOf(err) != plugin.ErrInvalid {
		t.Errorf("bad token: %v", err)
	}
}

// TestSimulatedFailures: an invalid template is refused with ARM's
// message; a deployment whose resource fails ends Failed with the reason.
func TestSimulatedFailures(t *testing.T) {
	sim := azuresim.New(subID)
	sim.Step = 10 * time.Millisecond
	sim.PutGroup("rg", "westeurope", nil)
	c := simClient(t, sim)
	ctx := context.Background()

	_, err := c.StartDeployment(ctx, "rg", "dep", storageTemplate, nil, nil)
	if plugin.KindOf(err) != plugin.ErrInvalid || !strings.Contains(err.Error(), "InvalidTemplate") || !strings.Contains(err.Error(), "appName") {
		t.Errorf("missing parameter: %v", err)
	}
	_, err = c.StartDeployment(ctx, "rg-missing", "dep", storageTemplate, map[string]any{"appName": "x"}, nil)
	if plugin.KindOf(err) != plugin.ErrNotFound {
		t.Errorf("missing group: %v", err)
	}
	failing := map[string]any{"resources": []any{map[string]any{"type": azuresim.FailureType, "name": "f", "properties": map[string]any{"message": "quota exceeded for Standard_D2s_v5"}}}}
	d, err := c.StartDeployment(ctx, "rg", "bad", failing, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartDeployment(ctx, "rg", "bad", failing, nil, nil); plugin.KindOf(err) != plugin.ErrConflict || !strings.Contains(err.Error(), "DeploymentActive") {
		t.Errorf("same name while running: %v", err)
	}
	st, err := d.Follow(ctx, azure.FollowOptions{Poll: 5 * time.Millisecond})
	if plugin.KindOf(err) != plugin.ErrConflict || !strings.Contains(err.Error(), "quota exceeded") || st.ProvisioningState != "Failed" {
		t.Errorf("failed deployment: %+v, %v", st, err)
	}
	_, err = c.Resources(ctx, "rg-missing", 0)
	if plugin.KindOf(err) != plugin.ErrNotFound {
		t.Errorf("resources of a missing group: %v", err)
	}
}
