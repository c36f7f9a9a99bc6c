// Package azure is the built-in Azure plugin: the actions
// azure:resourceGroup:ensure and azure:deployment:create (ARM templates,
// followed to the end and resumed after an Atrium restart), and the
// "Azure" entity card (resources of the entity's resource group and its
// month-to-date cost) for entities annotated azure.com/resource-group.
// The client is internal/integrations/azure; a subscription marked
// simulated, or the demo's default one, uses the simulated subscription
// of internal/integrations/azure/azuresim.
package azure

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	az "github.com/atrium-portal/atrium/internal/integrations/azure"
	"github.com/atrium-portal/atrium/internal/integrations/azure/azuresim"
	"github.com/atrium-portal/atrium/plugin"
)

// ID is the plugin's id (plugins.azure in app-config).
const ID = "azure"

// SimPath is where Atrium serves the simulated subscriptions in demo
// mode (/sim/azure/subscriptions/<id>/…).
const SimPath = "/sim/" + ID

// DemoSubscriptionID is the simulated subscription of demo mode.
const DemoSubscriptionID = "00000000-0000-0000-0000-00000000a7e0"

//go:embed config.schema.json
var configSchema []byte

// SubscriptionConfig is one entry of plugins.azure.config.subscriptions.
type SubscriptionConfig struct {
	Name           string `json:"name"`
	SubscriptionID string `json:"subscriptionId"`
	TenantID       string `json:"tenantId"`
	ClientID       string `json:"clientId"`
	ClientSecret   string `json:"clientSecret"`
	Endpoint       string `json:"endpoint"`
	AuthorityHost  string `json:"authorityHost"`
	Simulated      bool   `json:"simulated"`
}

// Config is plugins.azure.config.
type Config struct {
	Subscriptions        []SubscriptionConfig `json:"subscriptions"`
	Timeout              string               `json:"timeout"`
	BreakerThreshold     int                  `json:"breakerThreshold"`
	BreakerCooldown      string               `json:"breakerCooldown"`
	PollInterval         string               `json:"pollInterval"`
	MaxDeploymentTimeout string               `json:"maxDeploymentTimeout"`
	MaxTemplateBytes     int64                `json:"maxTemplateBytes"`
	MaxResources         int                  `json:"maxResources"`
	CostCacheTTL         string               `json:"costCacheTtl"`
	CostTag              string               `json:"costTag"`
	CostMonths           int                  `json:"costMonths"`
	SimulationStep       string               `json:"simulationStep"`
}

// Options are what Atrium hands the built-in besides its configuration.
type Options struct {
	// Demo is atrium.demo: without subscriptions, one simulated
	// subscription is used.
	Demo bool
	// Transport replaces the HTTP transport of real subscriptions, which
	// then use azcore/fake's token credential (tests: the SDK's fake
	// servers); nil uses the default transport and the service
	// principal.
	Transport policy.Transporter
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// subscription is a configured subscription with its client.
type subscription struct {
	cfg    SubscriptionConfig
	client *az.Client
	sim    *azuresim.Sim
}

// Plugin is the Azure plugin.
type Plugin struct {
	opts Options
	cfg  Config
	log  *slog.Logger

	dataDir       string
	baseURL       string
	timeout       time.Duration
	cooldown      time.Duration
	poll          time.Duration
	maxDeployTime time.Duration
	costTTL       time.Duration
	simStep       time.Duration
	subs          []*subscription
	demoDefault   bool
	costs         costCache
	monthly       monthlyCache
	costTag       string
	costMonths    int

	catalogMu sync.Mutex
	catalog   Catalog
}

var _ plugin.Plugin = (*Plugin)(nil)

// New returns the plugin; Provision configures it.
func New(opts Options) *Plugin { return &Plugin{opts: opts} }

func (p *Plugin) Info() plugin.Info {
	return plugin.Info{
		ID:           ID,
		Version:      "1.0.0",
		APIVersions:  ">=1.0.0 <2.0.0",
		Description:  "Azure: resource groups and ARM template deployments as scaffolder actions, and the Azure entity card with resources and month-to-date cost.",
		ConfigSchema: configSchema,
		Permissions:  []string{"scaffolder.action.execute", "catalog.entity.read"},
	}
}

// durationOr reads a duration of the plugin's configuration.
func durationOr(s, key string, def time.Duration) (time.Duration, error) {
	return plugin.ConfigDuration(ID, key, s, def)
}

func (p *Plugin) Provision(ctx context.Context, host plugin.Host, raw json.RawMessage) error {
	p.log = host.Logger
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.cfg = Config{}
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &p.cfg); err != nil {
			return plugin.Errorf(plugin.ErrInvalid, "plugins.azure.config: %v", err)
		}
	}
	p.dataDir = host.DataDir
	p.baseURL = host.BaseURL
	if host.DataDir != "" {
	}
	if p.cfg.MaxTemplateBytes <= 0 {
		p.cfg.MaxTemplateBytes = 4 << 20
	}
	if p.cfg.MaxResources <= 0 {
		p.cfg.MaxResources = 50
	}
	var err error
	if p.timeout, err = durationOr(p.cfg.Timeout, "timeout", 30*time.Second); err != nil {
		return err
	}
	if p.cooldown, err = durationOr(p.cfg.BreakerCooldown, "breakerCooldown", 30*time.Second); err != nil {
		return err
	}
	if p.poll, err = durationOr(p.cfg.PollInterval, "pollInterval", 5*time.Second); err != nil {
		return err
	}
	if p.maxDeployTime, err = durationOr(p.cfg.MaxDeploymentTimeout, "maxDeploymentTimeout", 2*time.Hour); err != nil {
		return err
	}
	if p.costTTL, err = durationOr(p.cfg.CostCacheTTL, "costCacheTtl", time.Hour); err != nil {
		return err
	}
	p.costTag = p.cfg.CostTag
	if p.costTag == "" {
		p.costTag = DefaultCostTag
	}
	p.costMonths = p.cfg.CostMonths
	if p.costMonths == 0 {
		p.costMonths = 6
	}
	if p.costMonths < 1 || p.costMonths > MaxMonths {
		return plugin.Errorf(plugin.ErrInvalid, "plugins.azure.config.costMonths: %d is not between 1 and %d", p.costMonths, MaxMonths)
	}
	if p.simStep, err = durationOr(p.cfg.SimulationStep, "simulationStep", time.Second); err != nil {
		return err
	}
	p.demoDefault = len(p.cfg.Subscriptions) == 0 && p.opts.Demo
	if p.demoDefault {
		p.cfg.Subscriptions = []SubscriptionConfig{{Name: "demo", SubscriptionID: DemoSubscriptionID, Simulated: true}}
		if p.cfg.PollInterval == "" {
			p.poll = 300 * time.Millisecond
		}
	}
	seen := map[string]bool{}
	for i, sc := range p.cfg.Subscriptions {
		if seen[sc.Name] {
			return plugin.Errorf(plugin.ErrInvalid, "plugins.azure.config.subscriptions[%d].name: %q is used twice", i, sc.Name)
		}
		seen[sc.Name] = true
	}
	return nil
}

// Validate builds a client per subscription. It does not call Azure: a
// subscription that is down must not stop Atrium; its actions and card
// say what Azure answers.
func (p *Plugin) Validate(ctx context.Context) error {
	p.subs = nil
	if len(p.cfg.Subscriptions) == 0 {
		p.log.Info("azure: no subscription configured (plugins.azure.config.subscriptions); the azure actions fail until one is")
		return nil
	}
	for i, sc := range p.cfg.Subscriptions {
		where := fmt.Sprintf("plugins.azure.config.subscriptions[%d]", i)
		cfg := az.Config{SubscriptionID: sc.SubscriptionID, TenantID: sc.TenantID, ClientID: sc.ClientID, ClientSecret: sc.ClientSecret,
			Endpoint: sc.Endpoint, AuthorityHost: sc.AuthorityHost, Transport: p.opts.Transport, Timeout: p.timeout,
			BreakerThreshold: p.cfg.BreakerThreshold, BreakerCooldown: p.cooldown}
		s := &subscription{cfg: sc}
		if sc.Simulated {
			s.sim = azuresim.New(sc.SubscriptionID)
			s.sim.Step = p.simStep
			if p.opts.Now != nil {
				s.sim.Now = p.opts.Now
			}
			if p.dataDir != "" {
				if err := s.sim.Persist(filepath.Join(p.dataDir, "simulated-"+sc.Name+".json")); err != nil {
					return plugin.Errorf(plugin.ErrInternal, "%s: %v", where, err)
				}
			}
			if p.demoDefault {
				seedDemo(s.sim)
			}
			cfg.Credential = azuresim.Credential()
			cfg.Transport = s.sim.Transport()
			cfg.Endpoint = ""
			if p.demoDefault && simEndpointOK(p.baseURL) {
				// Like the other demo simulators: the client talks HTTP to
				// Atrium's /sim/azure/, reached in process.
				cfg.Endpoint = strings.TrimSuffix(p.baseURL, "/") + SimPath
				cfg.Transport = handlerTransport{s.sim.Handler(SimPath)}
			}
		} else if p.opts.Transport == nil && (sc.TenantID == "" || sc.ClientID == "" || sc.ClientSecret == "") {
			return plugin.Errorf(plugin.ErrInvalid, "%s: subscription %q needs tenantId, clientId and clientSecret (a service principal; the secret from a reference such as ${env:AZURE_CLIENT_SECRET}), or simulated: true", where, sc.Name)
		} else if p.opts.Transport != nil {
			cfg.Credential = azuresim.Credential()
		}
		c, err := az.New(cfg)
		if err != nil {
			return plugin.Errorf(plugin.ErrInvalid, "%s: %v", where, err)
		}
		s.client = c
		p.subs = append(p.subs, s)
	}
	return nil
}

func (p *Plugin) Components() plugin.Components {
	return plugin.Components{
		Actions: []plugin.Action{&EnsureGroup{p: p}, &CreateDeployment{p: p}},
		Cards:   []plugin.EntityCard{&Card{p: p}, &CostCard{p: p}},
	}
}

func (p *Plugin) Cleanup(context.Context) error { return nil }

// Simulated reports whether every configured subscription is simulated.
func (p *Plugin) Simulated() bool {
	for _, s := range p.cfg.Subscriptions {
		if !s.Simulated {
			return false
		}
	}
	return len(p.cfg.Subscriptions) > 0
}

// SimulatedSubscription is the store of a simulated subscription (nil
// when name is not one).
func (p *Plugin) SimulatedSubscription(name string) *azuresim.Sim {
	for _, s := range p.subs {
		if s.cfg.Name == name {
			return s.sim
		}
	}
	return nil
}

// SecretValues are the configured client secrets, for Atrium to redact
// from its logs (also when given literally rather than as references).
func (p *Plugin) SecretValues() []string {
	var out []string
	for _, s := range p.cfg.Subscriptions {
		if s.ClientSecret != "" {
			out = append(out, s.ClientSecret)
		}
	}
	return out
}

// subscription finds a subscription by name or id; an empty name is the
// only one configured.
func (p *Plugin) subscription(name, where string) (*subscription, error) {
	if len(p.subs) == 0 {
		return nil, plugin.Errorf(plugin.ErrUnavailable, "no Azure subscription is configured: set plugins.azure.config.subscriptions")
	}
	if name == "" {
		if len(p.subs) == 1 {
			return p.subs[0], nil
		}
		return nil, plugin.Errorf(plugin.ErrInvalid, "%s: required, as %d subscriptions are configured (%s)", where, len(p.subs), p.names())
	}
	for _, s := range p.subs {
		if s.cfg.Name == name || strings.EqualFold(s.cfg.SubscriptionID, name) {
			return s, nil
		}
	}
	return nil, plugin.Errorf(plugin.ErrInvalid, "%s: %q is not a configured subscription (%s)", where, name, p.names())
}

func (p *Plugin) names() string {
	var n []string
	for _, s := range p.subs {
		n = append(n, s.cfg.Name)
	}
	sort.Strings(n)
	return strings.Join(n, ", ")
}

func (p *Plugin) now() time.Time {
	if p.opts.Now != nil {
		return p.opts.Now()
	}
	return time.Now()
}

// costCache keeps Cost Management answers for costTTL: the API allows a
// few queries a minute per scope.
type costCache struct {
	mu      sync.Mutex
	entries map[string]costEntry
}

type costEntry struct {
	at   time.Time
	cost az.Cost
}

func (c *costCache) get(key string, now time.Time, ttl time.Duration) (az.Cost, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || now.Sub(e.at) > ttl {
		return az.Cost{}, false
	}
	return e.cost, true
}

func (c *costCache) put(key string, now time.Time, cost az.Cost) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]costEntry{}
	}
	c.entries[key] = costEntry{at: now, cost: cost}
}

func openRoot(dir string) (*os.Root, error) { return os.OpenRoot(dir) }

// DemoResourceGroup is the resource group the demo's simulated
// subscription starts with: the infrastructure of the demo catalog's
// payment-service (annotate an entity with
// azure.com/resource-group: demo/rg-payment-service to see it).
const DemoResourceGroup = "rg-payment-service"

// demoGroups are the demo subscription's resource groups beyond
// DemoResourceGroup: resources tagged for demo catalog components (the
// FinOps view attributes them by the idp-component tag) and shared ones
// that no component claims (unattributed).
var demoGroups = []struct {
	name, component string
	resources       [][2]string
}{
	{"rg-invoicing", "invoice-service", [][2]string{{"Microsoft.Web/sites", "invoice-service"}, {"Microsoft.Sql/servers/databases", "invoices-db"}}},
	{"rg-inventory", "inventory-service", [][2]string{{"Microsoft.ContainerService/managedClusters", "aks-inventory"}, {"Microsoft.DocumentDB/databaseAccounts", "cosmos-stock"}}},
	{"rg-routing", "routing-engine", [][2]string{{"Microsoft.Web/sites", "routing-engine"}, {"Microsoft.Cache/redis", "redis-routes"}}},
	{"rg-eta", "eta-predictor", [][2]string{{"Microsoft.MachineLearningServices/workspaces", "mlw-eta"}, {"Microsoft.Storage/storageAccounts", "steta"}}},
	{"rg-analytics", "analytics-pipeline", [][2]string{{"Microsoft.Synapse/workspaces", "syn-analytics"}, {"Microsoft.Storage/storageAccounts", "stlake"}}},
	{"rg-notifications", "notification-service", [][2]string{{"Microsoft.Web/sites", "notification-service"}, {"Microsoft.ServiceBus/namespaces", "sb-notify"}}},
	{"rg-shared-network", "", [][2]string{{"Microsoft.Network/virtualNetworks", "vnet-hub"}, {"Microsoft.Network/azureFirewalls", "fw-hub"}}},
}

// seedDemo gives the demo subscription its resource groups (those it
// lacks: the state may have been kept from an earlier run).
func seedDemo(sim *azuresim.Sim) {
	if sim.Group(DemoResourceGroup) == nil {
		sim.PutGroup(DemoResourceGroup, "westeurope", map[string]string{"idp-component": "payment-service", "cost-center": "cc-billing"})
		for _, r := range [][2]string{
			{"Microsoft.Web/serverfarms", "payment-service-plan"},
			{"Microsoft.Web/sites", "payment-service"},
			{"Microsoft.DBforPostgreSQL/flexibleServers", "payment-db"},
			{"Microsoft.KeyVault/vaults", "kv-payment-service"},
		} {
			sim.PutResource(DemoResourceGroup, r[0], r[1], "westeurope")
		}
	}
	for _, g := range demoGroups {
		if sim.Group(g.name) != nil {
			continue
		}
		tags := map[string]string{"environment": "production"}
		if g.component != "" {
			tags["idp-component"] = g.component
		}
		sim.PutGroup(g.name, "westeurope", tags)
		for _, r := range g.resources {
			sim.PutResource(g.name, r[0], r[1], "westeurope")
		}
	}
}
