package azure_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/atrium-portal/atrium/internal/integrations/azure"
	"github.com/atrium-portal/atrium/internal/integrations/azure/azuresim"
)

// costSim is a subscription with enough groups that a monthly answer
// spans several pages of two rows.
func costSim() *azuresim.Sim {
	sim := azuresim.New(subID)
	for i := range 7 {
		g := fmt.Sprintf("rg-%d", i)
		sim.PutGroup(g, "westeurope", map[string]string{"IDP-Component": fmt.Sprintf("c%d", i%3)})
		sim.PutResource(g, "Microsoft.Web/sites", "site", "westeurope")
	}
	return sim
}

// TestMonthlyCostFollowsNextLink: an answer split into pages of two rows
// (in process and over HTTP) reads the same rows as the answer in one page.
func TestMonthlyCostFollowsNextLink(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	from := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)

	sim := costSim()
	sim.CostPageSize = 0
	whole, err := simClient(t, sim).MonthlyCost(ctx, "idp-component", from, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(whole.Rows) != 28 {
		t.Fatalf("one page: got %d rows, want 4 months × 7 groups", len(whole.Rows))
	}

	sim.CostPageSize = 2
	paged, err := simClient(t, sim).MonthlyCost(ctx, "idp-component", from, now)
	if err != nil {
		t.Fatalf("paged in process: %v", err)
	}
	if !reflect.DeepEqual(paged, whole) {
		t.Errorf("paged in process:\n got %+v\nwant %+v", paged, whole)
	}

	mux := http.NewServeMux()
	mux.Handle("/sim/azure/", sim.Handler("/sim/azure"))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c, err := azure.New(azure.Config{SubscriptionID: subID, Credential: azuresim.Credential(), Endpoint: srv.URL + "/sim/azure", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	overHTTP, err := c.MonthlyCost(ctx, "idp-component", from, now)
	if err != nil {
		t.Fatalf("paged over HTTP: %v", err)
	}
	if !reflect.DeepEqual(overHTTP, whole) {
		t.Errorf("paged over HTTP:\n got %+v\nwant %+v", overHTTP, whole)
	}

	// The daily query of one group pages too.
	day, err := simClient(t, sim).DailyCost(ctx, "rg-1", from, now)
	if err != nil || len(day.Days) < 90 {
		t.Fatalf("paged daily: %d days, %v", len(day.Days), err)
	}
}

// foreignLink answers the first page with a nextLink on another host.
type foreignLink struct{ next policy.Transporter }

func (f foreignLink) Do(req *http.Request) (*http.Response, error) {
	resp, err := f.next.Do(req)
	if err != nil || !strings.Contains(req.URL.Path, "CostManagement") {
		return resp, err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	b = []byte(strings.Replace(string(b), `"rows"`, `"nextLink":"https://elsewhere.example/next?$skiptoken=x","rows"`, 1))
	resp.Body = io.NopCloser(strings.NewReader(string(b)))
	resp.ContentLength = int64(len(b))
	return resp, nil
}

// TestCostNextLinkElsewhereRefused: a nextLink on another host than the
// endpoint is not followed (the token would go there); the error says so.
func TestCostNextLinkElsewhereRefused(t *testing.T) {
	sim := costSim()
	c, err := azure.New(azure.Config{SubscriptionID: subID, Credential: azuresim.Credential(), Transport: foreignLink{sim.Transport()}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	_, err = c.MonthlyCost(context.Background(), "", now.AddDate(0, -1, 0), now)
	if err == nil || !strings.Contains(err.Error(), "elsewhere.example") || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("got %v, want a refusal naming the foreign link", err)
	}
}
