package azuresim_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"

	"github.com/atrium-portal/atrium/internal/integrations/azure"
	"github.com/atrium-portal/atrium/internal/integrations/azure/azuresim"
)

const sub = "00000000-0000-0000-0000-0000000000aa"

// TestHandlerOverHTTP drives the simulator over real HTTP with the real
// armresources client: create, read and list resource groups, list a
// group's resources page by page (next links carry the prefix), and
// follow a deployment's long-running operation through the handler.
func TestHandlerOverHTTP(t *testing.T) {
	sim := azuresim.New(sub)
	sim.PageSize = 2
	sim.Step = 20 * time.Millisecond
	mux := http.NewServeMux()
	mux.Handle("/sim/azure/", sim.Handler("/sim/azure"))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	endpoint := srv.URL + "/sim/azure"

	opts := &arm.ClientOptions{ClientOptions: azcore.ClientOptions{
		Cloud: cloud.Configuration{Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Endpoint: endpoint, Audience: "https://management.azure.com"}}},
		Retry:                           policy.RetryOptions{MaxRetries: -1},
		InsecureAllowCredentialWithHTTP: true,
	}}
	groups, err := armresources.NewResourceGroupsClient(sub, azuresim.Credential(), opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	created, err := groups.CreateOrUpdate(ctx, "rg-http", armresources.ResourceGroup{Location: to.Ptr("westeurope")}, nil)
	if err != nil {
		t.Fatalf("create over HTTP: %v", err)
	}
	if got, want := *created.Name, "rg-http"; got != want {
		t.Errorf("created: got %v, want %v", got, want)
	}
	got, err := groups.Get(ctx, "rg-http", nil)
	if err != nil || *got.Location != "westeurope" {
		t.Fatalf("get over HTTP: %+v %v", got, err)
	}
	_, err = groups.Get(ctx, "rg-missing", nil)
	var re *azcore.ResponseError
	if !asResponseError(err, &re) || re.StatusCode != 404 || re.ErrorCode != "ResourceGroupNotFound" {
		t.Errorf("missing group: got %v, want 404 ResourceGroupNotFound", err)
	}

	for _, n := range []string{"a", "b", "c", "d", "e"} {
		sim.PutResource("rg-http", "Microsoft.Web/sites", n, "westeurope")
	}
	res, err := armresources.NewClient(sub, azuresim.Credential(), opts)
	if err != nil {
		t.Fatal(err)
	}
	pager := res.NewListByResourceGroupPager("rg-http", nil)
	var names []string
	pages := 0
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("page %d over HTTP: %v", pages+1, err)
		}
		pages++
		for _, r := range page.Value {
			names = append(names, *r.Name)
		}
	}
	if strings.Join(names, ",") != "a,b,c,d,e" || pages != 3 {
		t.Errorf("resources: got %v in %d pages, want a..e in 3", names, pages)
	}

	// The integration's own client, pointed at the URL, follows a
	// deployment to its end through the handler.
	c, err := azure.New(azure.Config{SubscriptionID: sub, Credential: azuresim.Credential(), Endpoint: endpoint, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	tpl := map[string]any{"resources": []any{map[string]any{"type": "Microsoft.Storage/storageAccounts", "name": "sthttp"}}}
	dep, err := c.StartDeployment(ctx, "rg-http", "dep-http", tpl, nil, nil)
	if err != nil {
		t.Fatalf("start deployment over HTTP: %v", err)
	}
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	st, err := dep.Follow(dctx, azure.FollowOptions{Poll: 10 * time.Millisecond})
	if err != nil || st.ProvisioningState != "Succeeded" {
		t.Fatalf("follow deployment over HTTP: %+v %v", st, err)
	}
	if len(sim.Resources("rg-http")) != 6 {
		t.Errorf("resources after deployment: got %d, want 6", len(sim.Resources("rg-http")))
	}
}

// TestHandlerRefusesWithoutToken: like Resource Manager, no bearer token
// is a 401 with an ARM error body.
func TestHandlerRefusesWithoutToken(t *testing.T) {
	srv := httptest.NewServer(azuresim.New(sub).Handler("/sim/azure"))
	defer srv.Close()
	res, err := http.Get(srv.URL + "/sim/azure/subscriptions/" + sub + "/resourcegroups?api-version=2024-03-01")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.NewDecoder(res.Body).Decode(&body)
	if res.StatusCode != 401 || body.Error.Code != "AuthenticationFailed" {
		t.Errorf("without a token: got %d %q, want 401 AuthenticationFailed", res.StatusCode, body.Error.Code)
	}
}

func asResponseError(err error, re **azcore.ResponseError) bool {
	e, ok := err.(*azcore.ResponseError)
	if ok {
		*re = e
	}
	return ok
}

// TestHandlerInProcess hands the handler a client's request as it is
// (a GET has no body at all), as the demo's in-process transport does.
func TestHandlerInProcess(t *testing.T) {
	sim := azuresim.New(sub)
	sim.PutGroup("rg-a", "westeurope", nil)
	req, _ := http.NewRequest("GET", "http://127.0.0.1:7007/sim/azure/subscriptions/"+sub+"/resourcegroups/rg-a?api-version=2024-03-01", nil)
	req.Header.Set("Authorization", "Bearer x")
	if req.Body != nil {
		t.Fatal("a client's GET has a body")
	}
	rec := httptest.NewRecorder()
	sim.Handler("/sim/azure").ServeHTTP(rec, req)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"name":"rg-a"`) {
		t.Errorf("got %d %s, want the group", rec.Code, rec.Body)
	}
}
