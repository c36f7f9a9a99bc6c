// Package terraform is the built-in HCP Terraform / Terraform Enterprise
// plugin: the actions terraform:workspace:ensure, terraform:variables:set
// and terraform:run, and the "Terraform" entity card for entities
// annotated terraform.io/workspace. The client is
// internal/integrations/tfc (go-tfe); in demo mode without an address the
// plugin uses the simulator (internal/integrations/tfc/tfcsim), served at
// /sim/terraform/.
package terraform

import (
	"context"
	_ "embed"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/atrium-portal/atrium/internal/integrations/tfc"
	"github.com/atrium-portal/atrium/internal/integrations/tfc/tfcsim"
	"github.com/atrium-portal/atrium/plugin"
)

// ID is the plugin's id (plugins.terraform in app-config).
const ID = "terraform"

// SimPath is where Atrium serves the simulator in demo mode.
const SimPath = "/sim/terraform"

// DemoOrganization is the simulated organization of demo mode.
const DemoOrganization = "northwind"

//go:embed config.schema.json
var configSchema []byte

// Config is plugins.terraform.config.
type Config struct {
	Address          string `json:"address"`
	Token            string `json:"token"`
	Organization     string `json:"organization"`
	Timeout          string `json:"timeout"`
	MaxRetries       int    `json:"maxRetries"`
	BreakerThreshold int    `json:"breakerThreshold"`
	BreakerCooldown  string `json:"breakerCooldown"`
	PollInterval     string `json:"pollInterval"`
	FollowRetries    int    `json:"followRetries"`
	FollowRetryMax   string `json:"followRetryMaxWait"`
	MaxRunTimeout    string `json:"maxRunTimeout"`
	MaxUploadBytes   int64  `json:"maxUploadBytes"`
	RecentRuns       int    `json:"recentRuns"`
}

// Options are what Atrium hands the built-in besides its configuration.
type Options struct {
	// Demo is atrium.demo: without an address, the simulator is used.
	Demo bool
	// Transport does the requests to a real server (nil: default).
	Transport http.RoundTripper
}

// Plugin is the Terraform plugin.
type Plugin struct {
	opts Options
	cfg  Config
	log  *slog.Logger

	clientCfg     tfc.Config
	client        *tfc.Client
	sim           *tfcsim.Sim
	simulated     bool
	poll          time.Duration
	maxRunTimeout time.Duration
	ops           plugin.OperationKind
	retry         plugin.Retry
}

var _ plugin.Plugin = (*Plugin)(nil)

// New returns the plugin; Provision configures it.
func New(opts Options) *Plugin { return &Plugin{opts: opts} }

func (p *Plugin) Info() plugin.Info {
	return plugin.Info{
		ID:           ID,
		Version:      "1.0.0",
		APIVersions:  ">=1.0.0 <2.0.0",
		Description:  "HCP Terraform / Terraform Enterprise: workspaces, variables and runs as scaffolder actions, and the Terraform entity card.",
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
			return plugin.Errorf(plugin.ErrInvalid, "plugins.terraform.config: %v", err)
		}
	}
	if host.DataDir != "" {
		p.ops = plugin.OperationKind{System: func() string { return plugin.SystemName("tfc", p.clientCfg.Address) }, Kind: "run"}
	}
	if p.cfg.RecentRuns <= 0 {
		p.cfg.RecentRuns = 10
	}
	if p.cfg.MaxUploadBytes <= 0 {
		p.cfg.MaxUploadBytes = 50 << 20
	}
	var err error
	p.clientCfg = tfc.Config{Address: p.cfg.Address, Token: p.cfg.Token, Transport: p.opts.Transport}
	if p.clientCfg.Timeout, err = durationOr(p.cfg.Timeout, "timeout", 30*time.Second); err != nil {
		return err
	}
	p.clientCfg.MaxRetries, p.clientCfg.BreakerThreshold = p.cfg.MaxRetries, p.cfg.BreakerThreshold
	if p.clientCfg.BreakerCooldown, err = durationOr(p.cfg.BreakerCooldown, "breakerCooldown", 30*time.Second); err != nil {
		return err
	}
	if p.poll, err = durationOr(p.cfg.PollInterval, "pollInterval", 3*time.Second); err != nil {
		return err
	}
	p.retry = plugin.Retry{Attempts: p.cfg.FollowRetries, Classify: transient}
	if p.retry.Max, err = durationOr(p.cfg.FollowRetryMax, "followRetryMaxWait", time.Minute); err != nil {
		return err
	}
	if p.maxRunTimeout, err = durationOr(p.cfg.MaxRunTimeout, "maxRunTimeout", 2*time.Hour); err != nil {
		return err
	}
	p.simulated = p.cfg.Address == "" && p.opts.Demo
	if p.simulated {
		base := strings.TrimSuffix(host.BaseURL, "/")
		if base == "" {
			base = "http://atrium.invalid"
		}
		p.sim = tfcsim.New("", DemoOrganization)
		p.sim.Step = 400 * time.Millisecond
		p.sim.Base = base + SimPath
		p.clientCfg.Address = base + SimPath
		p.clientCfg.Token = "simulated"
		p.clientCfg.Transport = handlerTransport{p.Simulator()}
		if p.cfg.Organization == "" {
			p.cfg.Organization = DemoOrganization
		}
		if p.cfg.PollInterval == "" {
			p.poll = 200 * time.Millisecond
		}
	}
	return nil
}

// Validate checks the configuration and connects (go-tfe pings the
// server). Without an address the plugin runs, and its actions say what
// to configure.
func (p *Plugin) Validate(ctx context.Context) error {
	if p.clientCfg.Address == "" {
		p.log.Info("terraform: no server configured (plugins.terraform.config.address); the terraform actions fail until one is")
		return nil
	}
	if !p.simulated && p.cfg.Token == "" {
		return plugin.Errorf(plugin.ErrInvalid, "plugins.terraform.config.token: %s needs an API token; set it from a secret (${env:TFE_TOKEN})", p.cfg.Address)
	}
	c, err := tfc.New(p.clientCfg)
	if err != nil {
		return plugin.Errorf(plugin.ErrUnavailable, "plugins.terraform.config.address: %v", err)
	}
	p.client = c
	return nil
}

func (p *Plugin) Components() plugin.Components {
	return plugin.Components{
		Actions: []plugin.Action{&EnsureWorkspace{p: p}, &SetVariables{p: p}, &RunAction{p: p}},
		Cards:   []plugin.EntityCard{&Card{p: p}},
	}
}

func (p *Plugin) Cleanup(context.Context) error { return nil }

// Simulator is the demo's simulated Terraform, served by Atrium at
// /sim/terraform/ (nil when a real server is configured).
func (p *Plugin) Simulator() http.Handler {
	if p.sim == nil {
		return nil
	}
	return http.StripPrefix(SimPath, p.sim)
}

// Simulated reports whether the plugin talks to its simulator.
func (p *Plugin) Simulated() bool { return p.simulated }

// ready returns the client, or an error saying what to configure.
func (p *Plugin) ready() (*tfc.Client, error) {
	if p.client == nil {
		return nil, plugin.Errorf(plugin.ErrUnavailable, "no Terraform server is configured: set plugins.terraform.config.address and token")
	}
	return p.client, nil
}

// org is the organization of an input (or the configured one).
func (p *Plugin) org(in map[string]any) (string, error) {
	if o, _ := in["organization"].(string); o != "" {
		return o, nil
	}
	if p.cfg.Organization == "" {
		return "", plugin.Errorf(plugin.ErrInvalid, "input.organization: required, as plugins.terraform.config.organization is not set")
	}
	return p.cfg.Organization, nil
}

// handlerTransport sends requests to an in-process handler: the demo's
// simulator, reached by the real client without a network round trip.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	if req.Body == nil {
		req.Body = http.NoBody
	}
	t.h.ServeHTTP(rec, req)
	res := rec.Result()
	res.Request = req
	return res, nil
}

// SecretValues is the configured token, for Atrium to redact from its
// logs (also when given literally rather than as a secret reference).
func (p *Plugin) SecretValues() []string {
	if p.cfg.Token == "" {
		return nil
	}
	return []string{p.cfg.Token}
}
