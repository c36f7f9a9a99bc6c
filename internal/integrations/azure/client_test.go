package azure_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/costmanagement/armcostmanagement/v3"
	costfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/costmanagement/armcostmanagement/v3/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armdeployments"
	depfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armdeployments/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"
	resfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3/fake"

	"github.com/atrium-portal/atrium/internal/integrations/azure"
	"github.com/atrium-portal/atrium/plugin"
)

// router sends each request to the fake server of its module, after
// an optional hook that may answer first (throttling, failures, delays).
type router struct {
	res, deps, cost policy.Transporter
	calls           atomic.Int32
	hook            func(n int32, req *http.Request) (*http.Response, error)
}

func (r *router) Do(req *http.Request) (*http.Response, error) {
	n := r.calls.Add(1)
	if r.hook != nil {
		if resp, err := r.hook(n, req); resp != nil || err != nil {
			return resp, err
		}
	}
	switch p := strings.ToLower(req.URL.Path); {
	case strings.Contains(p, "microsoft.costmanagement"):
		return r.cost.Do(req)
	case strings.Contains(p, "microsoft.resources/deployments"):
		return r.deps.Do(req)
	}
	return r.res.Do(req)
}

type fakes struct {
	groups resfake.ResourceGroupsServer
	deps   depfake.DeploymentsServer
	query  costfake.QueryServer
}

func newClient(t *testing.T, f *fakes, hook func(int32, *http.Request) (*http.Response, error), cfg azure.Config) (*azure.Client, *router) {
	t.Helper()
	r := &router{
		res:  resfake.NewServerFactoryTransport(&resfake.ServerFactory{ResourceGroupsServer: f.groups}),
		deps: depfake.NewServerFactoryTransport(&depfake.ServerFactory{DeploymentsServer: f.deps}),
		cost: costfake.NewServerFactoryTransport(&costfake.ServerFactory{QueryServer: f.query}),
		hook: hook,
	}
	cfg.SubscriptionID = subID
	cfg.Credential = &azfake.TokenCredential{}
	cfg.Transport = r
	if cfg.Retry.RetryDelay == 0 && cfg.Retry.MaxRetries == 0 {
		cfg.Retry = policy.RetryOptions{MaxRetries: 3, RetryDelay: 10 * time.Millisecond, MaxRetryDelay: 2 * time.Second}
	}
	c, err := azure.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, r
}

func status(req *http.Request, code int, header http.Header) *http.Response {
	h := http.Header{"Content-Type": {"application/json"}}
	for k, v := range header {
		h[k] = v
	}
	body := `{"error":{"code":"` + http.StatusText(code) + `","message":"simulated"}}`
	return &http.Response{StatusCode: code, Header: h, Body: io.NopCloser(strings.NewReader(body)), Request: req}
}

func okGroup() resfake.ResourceGroupsServer {
	return resfake.ResourceGroupsServer{Get: func(_ context.Context, name string, _ *armresources.ResourceGroupsClientGetOptions) (resp azfake.Responder[armresources.ResourceGroupsClientGetResponse], errResp azfake.ErrorResponder) {
		resp.SetResponse(http.StatusOK, armresources.ResourceGroupsClientGetResponse{ResourceGroup: armresources.ResourceGroup{Name: to.Ptr(name), Location: to.Ptr("westeurope")}}, nil)
		return
	}}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		status int
		code   string
		kind   plugin.ErrorKind
		want   string
	}{
		{http.StatusNotFound, "ResourceGroupNotFound", plugin.ErrNotFound, "404 ResourceGroupNotFound"},
		{http.StatusUnauthorized, "InvalidAuthenticationToken", plugin.ErrUnauthorized, "credentials"},
		{http.StatusForbidden, "AuthorizationFailed", plugin.ErrForbidden, "lacks a role"},
		{http.StatusConflict, "Conflict", plugin.ErrConflict, "409 Conflict"},
		{http.StatusBadRequest, "InvalidParameter", plugin.ErrInvalid, "400 InvalidParameter"},
	} {
		t.Run(tc.code, func(t *testing.T) {
			f := &fakes{groups: resfake.ResourceGroupsServer{Get: func(context.Context, string, *armresources.ResourceGroupsClientGetOptions) (resp azfake.Responder[armresources.ResourceGroupsClientGetResponse], errResp azfake.ErrorResponder) {
				errResp.SetResponseError(tc.status, tc.code)
				return
			}}}
			c, _ := newClient(t, f, nil, azure.Config{})
			_, err := c.Group(context.Background(), "rg-x")
			if plugin.KindOf(err) != tc.kind || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "rg-x") {
				t.Errorf("got %v (%s), want kind %s with %q", err, plugin.KindOf(err), tc.kind, tc.want)
			}
		})
	}
}

// TestDeploymentConflict: a deployment of the same name still running
// answers 409 DeploymentActive.
func TestDeploymentConflict(t *testing.T) {
	f := &fakes{deps: depfake.DeploymentsServer{BeginCreateOrUpdate: func(context.Context, string, string, armdeployments.Deployment, *armdeployments.DeploymentsClientBeginCreateOrUpdateOptions) (resp azfake.PollerResponder[armdeployments.DeploymentsClientCreateOrUpdateResponse], errResp azfake.ErrorResponder) {
		errResp.SetResponseError(http.StatusConflict, "DeploymentActive")
		return
	}}}
	c, _ := newClient(t, f, nil, azure.Config{})
	_, err := c.StartDeployment(context.Background(), "rg", "dep", map[string]any{"resources": []any{}}, nil, nil)
	if plugin.KindOf(err) != plugin.ErrConflict || !strings.Contains(err.Error(), "DeploymentActive") {
		t.Errorf("got %v", err)
	}
}

// TestThrottledRetriesAfter: a 429 with Retry-After is retried by the
// SDK's retry policy after the time Azure asked for.
func TestThrottledRetriesAfter(t *testing.T) {
	f := &fakes{groups: okGroup()}
	c, r := newClient(t, f, func(n int32, req *http.Request) (*http.Response, error) {
		if n == 1 {
			return status(req, http.StatusTooManyRequests, http.Header{"Retry-After": {"1"}}), nil
		}
		return nil, nil
	}, azure.Config{})
	start := time.Now()
	g, err := c.Group(context.Background(), "rg-x")
	if err != nil || g.Name != "rg-x" {
		t.Fatalf("got %+v, %v", g, err)
	}
	if el := time.Since(start); el < 900*time.Millisecond {
		t.Errorf("retried after %s, want about 1s (Retry-After)", el)
	}
	if n := r.calls.Load(); n != 2 {
		t.Errorf("calls = %d, want 2", n)
	}
}

// TestThrottledGivesUp: throttling that outlasts the retries is an
// unavailable error saying so.
func TestThrottledGivesUp(t *testing.T) {
	f := &fakes{groups: okGroup()}
	c, r := newClient(t, f, func(_ int32, req *http.Request) (*http.Response, error) {
		return status(req, http.StatusTooManyRequests, http.Header{"Retry-After": {"0"}}), nil
	}, azure.Config{Retry: policy.RetryOptions{MaxRetries: 2, RetryDelay: 5 * time.Millisecond, MaxRetryDelay: 20 * time.Millisecond}})
	_, err := c.Group(context.Background(), "rg-x")
	if plugin.KindOf(err) != plugin.ErrUnavailable || !strings.Contains(err.Error(), "throttled") {
		t.Errorf("got %v", err)
	}
	if n := r.calls.Load(); n != 3 {
		t.Errorf("calls = %d, want 3 (one and two retries)", n)
	}
}

// TestServerErrorRetried: 503s are retried until Azure answers.
func TestServerErrorRetried(t *testing.T) {
	f := &fakes{groups: okGroup()}
	c, r := newClient(t, f, func(n int32, req *http.Request) (*http.Response, error) {
		if n <= 2 {
			return status(req, http.StatusServiceUnavailable, nil), nil
		}
		return nil, nil
	}, azure.Config{})
	if _, err := c.Group(context.Background(), "rg-x"); err != nil {
		t.Fatal(err)
	}
	if n := r.calls.Load(); n != 3 {
		t.Errorf("calls = %d, want 3", n)
	}
}

// TestSlowAnswer: an answer slower than the timeout is an unavailable
// error naming the timeout.
func TestSlowAnswer(t *testing.T) {
	f := &fakes{groups: okGroup()}
	c, _ := newClient(t, f, func(_ int32, req *http.Request) (*http.Response, error) {
		select {
		case <-req.Context().Done():
			return nil, req.Context().Err()
		case <-time.After(5 * time.Second):
			return nil, nil
		}
	}, azure.Config{Timeout: 100 * time.Millisecond})
	start := time.Now()
	_, err := c.Group(context.Background(), "rg-x")
	if plugin.KindOf(err) != plugin.ErrUnavailable || !strings.Contains(err.Error(), "in time") {
		t.Errorf("got %v", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("took %s, want about the 100ms timeout", el)
	}
}

// TestDeploymentFails: a long-running operation ending in failure is a
// conflict error naming the deployment.
func TestDeploymentFails(t *testing.T) {
	f := &fakes{deps: depfake.DeploymentsServer{BeginCreateOrUpdate: func(context.Context, string, string, armdeployments.Deployment, *armdeployments.DeploymentsClientBeginCreateOrUpdateOptions) (resp azfake.PollerResponder[armdeployments.DeploymentsClientCreateOrUpdateResponse], errResp azfake.ErrorResponder) {
		resp.AddNonTerminalResponse(http.StatusCreated, nil)
		resp.AddNonTerminalResponse(http.StatusOK, nil)
		resp.SetTerminalError(http.StatusBadRequest, "DeploymentFailed")
		return
	}}}
	c, _ := newClient(t, f, nil, azure.Config{})
	d, err := c.StartDeployment(context.Background(), "rg", "dep", map[string]any{"resources": []any{}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Follow(context.Background(), azure.FollowOptions{Poll: time.Millisecond})
	if plugin.KindOf(err) != plugin.ErrConflict || !strings.Contains(err.Error(), "deployment dep failed") || !strings.Contains(err.Error(), "DeploymentFailed") {
		t.Errorf("got %v", err)
	}
}

// TestCostColumnsByName: Cost Management's columns are positional; the
// client maps them by name, whatever their order.
func TestCostColumnsByName(t *testing.T) {
	var scope string
	f := &fakes{query: costfake.QueryServer{Usage: func(_ context.Context, s string, q armcostmanagement.QueryDefinition, _ *armcostmanagement.QueryClientUsageOptions) (resp azfake.Responder[armcostmanagement.QueryClientUsageResponse], errResp azfake.ErrorResponder) {
		scope = s
		if *q.Dataset.Granularity != armcostmanagement.GranularityTypeDaily || q.TimePeriod.From.Day() != 1 {
			errResp.SetResponseError(http.StatusBadRequest, "BadQuery")
			return
		}
		resp.SetResponse(http.StatusOK, armcostmanagement.QueryClientUsageResponse{QueryResult: armcostmanagement.QueryResult{Properties: &armcostmanagement.QueryProperties{
			Columns: []*armcostmanagement.QueryColumn{{Name: to.Ptr("UsageDate")}, {Name: to.Ptr("Currency")}, {Name: to.Ptr("Cost")}},
			Rows:    [][]any{{float64(20261202), "USD", 2.5}, {float64(20261201), "USD", 1.25}, {float64(20261202), "USD", 0.25}},
		}}}, nil)
		return
	}}}
	c, _ := newClient(t, f, nil, azure.Config{})
	cost, err := c.MonthToDate(context.Background(), "rg-x", time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimPrefix(scope, "/") != "subscriptions/"+subID+"/resourceGroups/rg-x" {
		t.Errorf("scope = %s", scope)
	}
	if cost.Currency != "USD" || cost.Total != 4 || len(cost.Days) != 2 || cost.Days[0].Cost != 1.25 || cost.Days[1].Cost != 2.75 {
		t.Errorf("cost = %+v", cost)
	}
}

// TestCredentialFailure: a credential that cannot get a token fails the
// call without retrying forever.
func TestCredentialFailure(t *testing.T) {
	f := &fakes{groups: okGroup()}
	cred := &azfake.TokenCredential{}
	cred.SetError(errors.New("token endpoint refused"))
	r := &router{res: resfake.NewServerFactoryTransport(&resfake.ServerFactory{ResourceGroupsServer: f.groups})}
	c, err := azure.New(azure.Config{SubscriptionID: subID, Credential: cred, Transport: r, Retry: policy.RetryOptions{MaxRetries: 1, RetryDelay: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Group(context.Background(), "rg-x")
	if err == nil || !strings.Contains(err.Error(), "token endpoint refused") {
		t.Errorf("got %v", err)
	}
}

// TestConfig: a real subscription needs a service principal.
func TestConfig(t *testing.T) {
	if _, err := azure.New(azure.Config{SubscriptionID: subID, TenantID: "t"}); err == nil || !strings.Contains(err.Error(), "clientSecret") {
		t.Errorf("got %v", err)
	}
	if _, err := azure.New(azure.Config{SubscriptionID: subID, Credential: &azfake.TokenCredential{}, Endpoint: "ftp://x"}); err == nil || !strings.Contains(err.Error(), "endpoint") {
		t.Errorf("got %v", err)
	}
	if _, err := azure.New(azure.Config{SubscriptionID: subID, Credential: &azfake.TokenCredential{}, Endpoint: "http://management.example"}); err == nil || !strings.Contains(err.Error(), "only sent over https") {
		t.Errorf("got %v", err)
	}
}

// TestBreaker: after the threshold of failed calls in a row the breaker
// answers at once until the cooldown ends, then one call probes; 404s do
// not count.
func TestBreaker(t *testing.T) {
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	down := true
	f := &fakes{groups: okGroup()}
	c, r := newClient(t, f, func(_ int32, req *http.Request) (*http.Response, error) {
		if down {
			return status(req, http.StatusServiceUnavailable, nil), nil
		}
		return nil, nil
	}, azure.Config{BreakerThreshold: 2, BreakerCooldown: time.Minute, Now: func() time.Time { return now },
		Retry: policy.RetryOptions{MaxRetries: -1}})
	ctx := context.Background()
	for range 2 {
		if _, err := c.Group(ctx, "rg"); plugin.KindOf(err) != plugin.ErrUnavailable {
			t.Fatalf("got %v", err)
		}
	}
	calls := r.calls.Load()
	_, err := c.Group(ctx, "rg")
	if plugin.KindOf(err) != plugin.ErrUnavailable || !strings.Contains(err.Error(), "circuit breaker") || !strings.Contains(err.Error(), "10:01:00") {
		t.Errorf("open breaker: %v", err)
	}
	if r.calls.Load() != calls {
		t.Error("the open breaker let a call through")
	}
	now = now.Add(61 * time.Second)
	down = false
	if _, err := c.Group(ctx, "rg"); err != nil {
		t.Errorf("probe after the cooldown: %v", err)
	}
	notFound := &fakes{groups: resfake.ResourceGroupsServer{Get: func(context.Context, string, *armresources.ResourceGroupsClientGetOptions) (resp azfake.Responder[armresources.ResourceGroupsClientGetResponse], errResp azfake.ErrorResponder) {
		errResp.SetResponseError(http.StatusNotFound, "ResourceGroupNotFound")
		return
	}}}
	c, _ = newClient(t, notFound, nil, azure.Config{BreakerThreshold: 1})
	for range 3 {
		if _, err := c.Group(ctx, "rg"); plugin.KindOf(err) != plugin.ErrNotFound {
			t.Errorf("404s opened the breaker: %v", err)
		}
	}
}
