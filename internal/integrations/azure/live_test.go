package azure_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/integrations/azure"
)

// TestLiveAzure talks to a real Azure subscription when one is configured,
// read-only: a resource group and its resources, and its month-to-date
// cost. It never runs unconfigured (CI has no credentials) and says how to
// run it.
func TestLiveAzure(t *testing.T) {
	env := map[string]string{}
	for _, k := range []string{"ATRIUM_LIVE_AZURE_SUBSCRIPTION", "ATRIUM_LIVE_AZURE_TENANT", "ATRIUM_LIVE_AZURE_CLIENT_ID", "ATRIUM_LIVE_AZURE_CLIENT_SECRET", "ATRIUM_LIVE_AZURE_RESOURCE_GROUP"} {
		env[k] = os.Getenv(k)
		if env[k] == "" {
			t.Skip("set ATRIUM_LIVE_AZURE_SUBSCRIPTION, _TENANT, _CLIENT_ID, _CLIENT_SECRET (a service principal with Reader and Cost Management Reader) and _RESOURCE_GROUP to run against real Azure")
		}
	}
	c, err := azure.New(azure.Config{
		SubscriptionID: env["ATRIUM_LIVE_AZURE_SUBSCRIPTION"], TenantID: env["ATRIUM_LIVE_AZURE_TENANT"],
		ClientID: env["ATRIUM_LIVE_AZURE_CLIENT_ID"], ClientSecret: env["ATRIUM_LIVE_AZURE_CLIENT_SECRET"],
		Timeout: 30 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rg := env["ATRIUM_LIVE_AZURE_RESOURCE_GROUP"]
	g, err := c.Group(ctx, rg)
	if err != nil {
		t.Fatalf("resource group %s: %v", rg, err)
	}
	res, err := c.Resources(ctx, rg, 50)
	if err != nil {
		t.Fatalf("resources of %s: %v", rg, err)
	}
	t.Logf("%s in %s (%s): %d resources", g.Name, g.Location, g.ProvisioningState, len(res))
	if _, err := c.MonthToDate(ctx, rg, time.Now()); err != nil {
		t.Fatalf("month-to-date cost of %s: %v", rg, err)
	}
}
