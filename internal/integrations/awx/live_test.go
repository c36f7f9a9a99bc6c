package awx_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/integrations/awx"
)

// TestLiveAWX talks to a real Automation Controller / AWX when one is
// configured, read-only: ping, then list job templates. It never runs
// unconfigured (CI has no credentials) and says how to run it.
func TestLiveAWX(t *testing.T) {
	url, token := os.Getenv("ATRIUM_LIVE_AWX_URL"), os.Getenv("ATRIUM_LIVE_AWX_TOKEN")
	if url == "" || token == "" {
		t.Skip("set ATRIUM_LIVE_AWX_URL (https://awx.example.com) and ATRIUM_LIVE_AWX_TOKEN (an OAuth2 token, read scope) to run against a real controller")
	}
	c, err := awx.New(awx.Config{BaseURL: url, Token: token, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ping, err := c.Ping(ctx)
	if err != nil {
		t.Fatalf("ping: %v", err)
	}
	t.Logf("ping: %+v", ping)
	tpls, err := c.Templates(ctx, false)
	if err != nil {
		t.Fatalf("job templates: %v", err)
	}
	t.Logf("%d job templates visible", len(tpls))
}
