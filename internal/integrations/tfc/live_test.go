package tfc_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/integrations/tfc"
)

// TestLiveTerraform talks to a real HCP Terraform / Terraform Enterprise
// when one is configured, read-only: the token's account and its
// organizations. It never runs unconfigured (CI has no credentials) and
// says how to run it.
func TestLiveTerraform(t *testing.T) {
	token := os.Getenv("ATRIUM_LIVE_TFC_TOKEN")
	if token == "" {
		t.Skip("set ATRIUM_LIVE_TFC_TOKEN (a user or team token) and optionally ATRIUM_LIVE_TFC_ADDRESS (default https://app.terraform.io) to run against real Terraform Cloud/Enterprise")
	}
	addr := os.Getenv("ATRIUM_LIVE_TFC_ADDRESS")
	if addr == "" {
		addr = "https://app.terraform.io"
	}
	c, err := tfc.New(tfc.Config{Address: addr, Token: token, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	orgs, err := c.API().Organizations.List(ctx, nil)
	if err != nil {
		t.Fatalf("organizations: %v", err)
	}
	t.Logf("%d organizations visible at %s", len(orgs.Items), addr)
}
