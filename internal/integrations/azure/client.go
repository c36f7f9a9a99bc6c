// Package azure is Atrium's client of Azure Resource Manager for one
// subscription: resource groups, ARM template deployments (long-running
// operations that can be resumed from a token) and Cost Management
// queries. It wraps the track-2 SDK modules (armresources/v3,
// armdeployments, armcostmanagement/v3); errors come back as plugin
// errors saying what Azure answered.
package azure

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/costmanagement/armcostmanagement/v3"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armdeployments"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"

	"github.com/atrium-portal/atrium/internal/integrations/breaker"
	"github.com/atrium-portal/atrium/plugin"
)

// Config configures the client of one subscription.
type Config struct {
	// SubscriptionID is the subscription's GUID.
	SubscriptionID string
	// TenantID, ClientID and ClientSecret are a service principal's
	// credentials (azidentity.ClientSecretCredential), used when
	// Credential is nil.
	TenantID, ClientID, ClientSecret string
	// Credential replaces the service principal (tests and the
	// simulator use azcore/fake's TokenCredential).
	Credential azcore.TokenCredential
	// Endpoint is the Resource Manager endpoint (default
	// https://management.azure.com); AuthorityHost the Entra ID login
	// endpoint (default https://login.microsoftonline.com/).
	Endpoint, AuthorityHost string
	// Transport replaces the HTTP transport (the simulator's fake
	// servers); nil uses the default.
	Transport policy.Transporter
	// Timeout bounds one HTTP request, retries included (default 30s).
	Timeout time.Duration
	// Retry is the SDK's retry policy (429 and 5xx, honouring
	// Retry-After); zero values keep the SDK's defaults.
	Retry policy.RetryOptions
	// BreakerThreshold is how many failed calls in a row open the
	// circuit breaker (0: 5; negative: no breaker); BreakerCooldown how
	// long it then refuses calls before one probe (default 30s).
	BreakerThreshold int
	BreakerCooldown  time.Duration
	// Now is the breaker's clock (default time.Now).
	Now func() time.Time
}

// Client talks to one subscription.
type Client struct {
	sub     string
	timeout time.Duration
	groups  *armresources.ResourceGroupsClient
	res     *armresources.Client
	deps    *armdeployments.DeploymentsClient
	query   *armcostmanagement.QueryClient
	// pages follows Cost Management's nextLinks with the same pipeline.
	pages *arm.Client
}

// New builds the clients of cfg's subscription. It does no request.
func New(cfg Config) (*Client, error) {
	if cfg.SubscriptionID == "" {
		return nil, errors.New("subscriptionId is required")
	}
	cloudCfg := cloud.AzurePublic
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			return nil, fmt.Errorf("endpoint %q is not an http(s) URL", cfg.Endpoint)
		}
		if u.Scheme == "http" && !loopback(u.Hostname()) {
			return nil, fmt.Errorf("endpoint %q: tokens are only sent over https (plain http only to 127.0.0.1 or localhost)", cfg.Endpoint)
		}
		cloudCfg.Services = map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Endpoint: strings.TrimSuffix(cfg.Endpoint, "/"), Audience: cloud.AzurePublic.Services[cloud.ResourceManager].Audience},
		}
	}
	if cfg.AuthorityHost != "" {
		cloudCfg.ActiveDirectoryAuthorityHost = cfg.AuthorityHost
	}
	cred := cfg.Credential
	if cred == nil {
		if cfg.TenantID == "" || cfg.ClientID == "" || cfg.ClientSecret == "" {
			return nil, errors.New("tenantId, clientId and clientSecret are required (a service principal)")
		}
		c, err := azidentity.NewClientSecretCredential(cfg.TenantID, cfg.ClientID, cfg.ClientSecret,
			&azidentity.ClientSecretCredentialOptions{ClientOptions: azcore.ClientOptions{Cloud: cloudCfg}})
		if err != nil {
			return nil, fmt.Errorf("credential: %w", err)
		}
		cred = c
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	opts := &arm.ClientOptions{ClientOptions: azcore.ClientOptions{
		Cloud:     cloudCfg,
		Transport: cfg.Transport,
		Retry:     cfg.Retry,
		Telemetry: policy.TelemetryOptions{ApplicationID: "atrium"},
	}}
	if cfg.BreakerThreshold >= 0 {
		threshold, cooldown := cfg.BreakerThreshold, cfg.BreakerCooldown
		if threshold == 0 {
			threshold = 5
		}
		if cooldown <= 0 {
			cooldown = 30 * time.Second
		}
		b := breaker.New("Azure subscription "+cfg.SubscriptionID, threshold, cooldown)
		b.Now = cfg.Now
		opts.PerCallPolicies = []policy.Policy{breakerPolicy{b: b}}
	}
	// A loopback endpoint (a test server) may be plain http.
	if u, _ := url.Parse(cfg.Endpoint); u != nil && u.Scheme == "http" && loopback(u.Hostname()) {
		opts.InsecureAllowCredentialWithHTTP = true
	}
	c := &Client{sub: cfg.SubscriptionID, timeout: cfg.Timeout}
	var err error
	if c.groups, err = armresources.NewResourceGroupsClient(cfg.SubscriptionID, cred, opts); err != nil {
		return nil, err
	}
	if c.res, err = armresources.NewClient(cfg.SubscriptionID, cred, opts); err != nil {
		return nil, err
	}
	if c.deps, err = armdeployments.NewDeploymentsClient(cfg.SubscriptionID, cred, opts); err != nil {
		return nil, err
	}
	if c.query, err = armcostmanagement.NewQueryClient(cred, opts); err != nil {
		return nil, err
	}
	if c.pages, err = arm.NewClient("atrium/azure-cost-pages", "v1.0.0", cred, opts); err != nil {
		return nil, err
	}
	return c, nil
}

// SubscriptionID is the client's subscription.
func (c *Client) SubscriptionID() string { return c.sub }

// Fault turns an error of the SDK into a plugin error saying what Azure
// answered and what to do; where says which input or call it concerns.
func Fault(err error, where string) error {
	if err == nil {
		return nil
	}
	var pe *plugin.Error
	if errors.As(err, &pe) {
		return err
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return plugin.Errorf(plugin.ErrUnavailable, "%s: Azure did not answer in time (timeout)", where)
	}
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		var ae *azidentity.AuthenticationFailedError
		if errors.As(err, &ae) {
			return plugin.Errorf(plugin.ErrUnauthorized, "%s: Azure refused the service principal's credentials; check tenantId, clientId and clientSecret", where)
		}
		return plugin.Errorf(plugin.ErrUnavailable, "%s: Azure cannot be reached: %s", where, firstLine(err.Error()))
	}
	what := fmt.Sprintf("%s: Azure answered %d %s", where, re.StatusCode, re.ErrorCode)
	switch re.StatusCode {
	case http.StatusNotFound:
		return plugin.Errorf(plugin.ErrNotFound, "%s (it does not exist)", what)
	case http.StatusConflict:
		return plugin.Errorf(plugin.ErrConflict, "%s (it clashes with the current state)", what)
	case http.StatusUnauthorized:
		return plugin.Errorf(plugin.ErrUnauthorized, "%s: check the service principal's credentials", what)
	case http.StatusForbidden:
		return plugin.Errorf(plugin.ErrForbidden, "%s: the service principal lacks a role on this scope (Contributor to deploy, Cost Management Reader for costs)", what)
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return plugin.Errorf(plugin.ErrInvalid, "%s: %s", what, errorMessage(re))
	case http.StatusTooManyRequests:
		return plugin.Errorf(plugin.ErrUnavailable, "%s: throttled; retries were used up, try again later", what)
	}
	if re.StatusCode >= 500 {
		return plugin.Errorf(plugin.ErrUnavailable, "%s: Azure failed; try again later", what)
	}
	return plugin.Errorf(plugin.ErrInternal, "%s", what)
}

// errorMessage is the message of an ARM error body, when there is one.
func errorMessage(re *azcore.ResponseError) string {
	s := re.Error()
	if i := strings.Index(s, `"message"`); i >= 0 {
		rest := s[i+len(`"message"`):]
		if j := strings.Index(rest, `"`); j >= 0 {
			rest = rest[j+1:]
			if k := strings.Index(rest, `"`); k >= 0 {
				return rest[:k]
			}
		}
	}
	return "the request was refused"
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func (c *Client) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.timeout)
}

// Conflictf is a conflict error found before asking Azure.
func Conflictf(format string, args ...any) error {
	return plugin.Errorf(plugin.ErrConflict, format, args...)
}

func loopback(host string) bool { return host == "127.0.0.1" || host == "localhost" || host == "::1" }
