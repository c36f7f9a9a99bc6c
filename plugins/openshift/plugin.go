// Package openshift is the built-in OpenShift / Kubernetes plugin: the
// actions openshift:project:create, kube:apply and
// openshift:operator:subscribe, and the Workloads entity card showing the
// deployments, pods, services and routes of an entity across every
// configured cluster. The client is internal/integrations/kube; in demo
// mode without clusters the plugin uses one simulated OpenShift cluster
// (internal/integrations/kube/kubesim), served at /sim/openshift/.
package openshift

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/atrium-portal/atrium/internal/integrations/kube"
	"github.com/atrium-portal/atrium/internal/integrations/kube/kubesim"
	"github.com/atrium-portal/atrium/plugin"
)

// ID is the plugin's id (plugins.openshift in app-config).
const ID = "openshift"

// SimPath is where Atrium serves the simulated cluster in demo mode.
const SimPath = "/sim/" + ID

//go:embed config.schema.json
var configSchema []byte

// ClusterConfig is one entry of plugins.openshift.config.clusters.
type ClusterConfig struct {
	Name       string `json:"name"`
	URL        string `json:"url"`
	Token      string `json:"token"`
	CA         string `json:"ca"`
	Kind       string `json:"kind"`
	ConsoleURL string `json:"consoleUrl"`
}

// Config is plugins.openshift.config.
type Config struct {
	Clusters           []ClusterConfig `json:"clusters"`
	Timeout            string          `json:"timeout"`
	MaxRetries         int             `json:"maxRetries"`
	BreakerThreshold   int             `json:"breakerThreshold"`
	BreakerCooldown    string          `json:"breakerCooldown"`
	MaxManifestBytes   int64           `json:"maxManifestBytes"`
	MaxObjects         int             `json:"maxObjects"`
	PollInterval       string          `json:"pollInterval"`
	MaxOperatorTimeout string          `json:"maxOperatorTimeout"`
	MaxRolloutTimeout  string          `json:"maxRolloutTimeout"`
	CardTimeout        string          `json:"cardTimeout"`
	LiveWorkloads      *bool           `json:"liveWorkloads"`
	MaxWatches         int             `json:"maxWatches"`
	WatchIdleAfter     string          `json:"watchIdleAfter"`
}

// Options are what Atrium hands the built-in besides its configuration.
type Options struct {
	// Demo is atrium.demo: without clusters, the simulator is used.
	Demo bool
	// Transport does the requests to real clusters (nil: default).
	Transport http.RoundTripper
}

// cluster is a configured cluster and its client.
type cluster struct {
	cfg    ClusterConfig
	client *kube.Client
	// live serves the Workloads card from informers (nil: list on
	// every view).
	live *kube.Live
}

// Plugin is the OpenShift / Kubernetes plugin.
type Plugin struct {
	opts Options
	cfg  Config
	log  *slog.Logger
	// goFn starts the plugin's own goroutines: its Host's Go, which
	// recovers and reports a panic.
	goFn func(name string, fn func())

	clusters    []cluster
	sim         *kubesim.Sim
	simulated   bool
	poll        time.Duration
	maxOpWait   time.Duration
	maxRollout  time.Duration
	cardTimeout time.Duration
	cards       cardNotifier
}

var _ plugin.Plugin = (*Plugin)(nil)

// New returns the plugin; Provision configures it.
func New(opts Options) *Plugin { return &Plugin{opts: opts} }

func (p *Plugin) Info() plugin.Info {
	return plugin.Info{
		ID:           ID,
		Version:      "1.0.0",
		APIVersions:  ">=1.0.0 <2.0.0",
		Description:  "OpenShift / Kubernetes: projects, server-side apply of manifests, OLM operator subscriptions and the Workloads card.",
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
	p.goFn = host.Go
	p.cfg, p.clusters, p.sim, p.simulated = Config{}, nil, nil, false
	if host.DataDir != "" {
	}
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &p.cfg); err != nil {
			return plugin.Errorf(plugin.ErrInvalid, "plugins.openshift.config: %v", err)
		}
	}
	if p.cfg.MaxManifestBytes <= 0 {
		p.cfg.MaxManifestBytes = 1 << 20
	}
	if p.cfg.MaxObjects <= 0 {
		p.cfg.MaxObjects = 200
	}
	timeout, err := durationOr(p.cfg.Timeout, "timeout", 30*time.Second)
	if err != nil {
		return err
	}
	if p.poll, err = durationOr(p.cfg.PollInterval, "pollInterval", 2*time.Second); err != nil {
		return err
	}
	if p.maxOpWait, err = durationOr(p.cfg.MaxOperatorTimeout, "maxOperatorTimeout", time.Hour); err != nil {
		return err
	}
	if p.maxRollout, err = durationOr(p.cfg.MaxRolloutTimeout, "maxRolloutTimeout", 30*time.Minute); err != nil {
		return err
	}
	if p.cardTimeout, err = durationOr(p.cfg.CardTimeout, "cardTimeout", 5*time.Second); err != nil {
		return err
	}
	cooldown, err := durationOr(p.cfg.BreakerCooldown, "breakerCooldown", 30*time.Second)
	if err != nil {
		return err
	}
	transport := p.opts.Transport
	clusters := p.cfg.Clusters
	if len(clusters) == 0 && p.opts.Demo {
		p.simulated = true
		p.sim = kubesim.New("", true)
		if err := seedDemo(p.sim); err != nil {
			return plugin.Errorf(plugin.ErrInternal, "seeding the simulated cluster: %v", err)
		}
		base := strings.TrimSuffix(host.BaseURL, "/")
		if base == "" {
			base = "http://atrium.invalid"
		}
		clusters = []ClusterConfig{{Name: "demo", URL: base + SimPath, Kind: kube.KindOpenShift}}
		transport = streamTransport{h: p.Simulator(), goFn: p.goFn}
		if p.cfg.PollInterval == "" {
			p.poll = 100 * time.Millisecond
		}
	}
	seen := map[string]bool{}
	for i, cc := range clusters {
		if seen[cc.Name] {
			return plugin.Errorf(plugin.ErrInvalid, "plugins.openshift.config.clusters[%d].name: %q is used twice", i, cc.Name)
		}
		seen[cc.Name] = true
		if cc.Kind == "" {
			cc.Kind = kube.KindOpenShift
		}
		if !p.simulated && cc.CA != "" && !strings.Contains(cc.CA, "-----BEGIN CERTIFICATE-----") {
			return plugin.Errorf(plugin.ErrInvalid, "plugins.openshift.config.clusters[%d].ca: not a PEM certificate (give its content, e.g. ${file:/path/ca.crt})", i)
		}
		c, err := kube.New(kube.Config{Name: cc.Name, URL: cc.URL, Token: cc.Token, CAData: []byte(cc.CA), Kind: cc.Kind,
			Timeout: timeout, MaxRetries: p.cfg.MaxRetries, Transport: transport,
			BreakerThreshold: p.cfg.BreakerThreshold, BreakerCooldown: cooldown})
		if err != nil {
			return plugin.Errorf(plugin.ErrInvalid, "plugins.openshift.config.clusters[%d].%v", i, err)
		}
		p.clusters = append(p.clusters, cluster{cfg: cc, client: c, live: p.live(c)})
	}
	return p.liveConfig()
}

// Validate logs when no cluster is configured: the actions fail saying so.
func (p *Plugin) Validate(context.Context) error {
	if len(p.clusters) == 0 {
		p.log.Info("openshift: no cluster configured (plugins.openshift.config.clusters); the actions fail until one is")
	}
	return nil
}

func (p *Plugin) Components() plugin.Components {
	return plugin.Components{
		Actions: []plugin.Action{&ProjectAction{p: p}, &ApplyAction{p: p}, &SubscribeAction{p: p}},
		Cards:   []plugin.EntityCard{&Card{p: p, annotation: AnnotationKubernetesID}, &Card{p: p, annotation: AnnotationLabelSelector}},
	}
}

func (p *Plugin) Cleanup(context.Context) error {
	p.stopLive()
	return nil
}

// cluster finds the cluster an action names (the first one when name is
// empty), or an error saying which exist.
func (p *Plugin) cluster(name string) (cluster, error) {
	if len(p.clusters) == 0 {
		return cluster{}, plugin.Errorf(plugin.ErrUnavailable, "no cluster is configured: set plugins.openshift.config.clusters")
	}
	if name == "" {
		return p.clusters[0], nil
	}
	var names []string
	for _, c := range p.clusters {
		if c.cfg.Name == name {
			return c, nil
		}
		names = append(names, c.cfg.Name)
	}
	slices.Sort(names)
	return cluster{}, plugin.Errorf(plugin.ErrInvalid, "input.cluster: no cluster named %q; configured: %s", name, strings.Join(names, ", "))
}

// where labels a cluster in logs: its name, and "simulated" in demo mode.
func (p *Plugin) where(c cluster) string {
	if p.simulated {
		return fmt.Sprintf("cluster %s (simulated OpenShift)", c.cfg.Name)
	}
	return fmt.Sprintf("cluster %s (%s)", c.cfg.Name, c.cfg.URL)
}

// Simulator is the demo's simulated cluster, served by Atrium at
// /sim/openshift/ (nil when real clusters are configured).
func (p *Plugin) Simulator() http.Handler {
	if p.sim == nil {
		return nil
	}
	return http.StripPrefix(SimPath, p.sim)
}

// Simulated reports whether the plugin talks to its simulator.
func (p *Plugin) Simulated() bool { return p.simulated }

// SecretValues are the configured tokens, for Atrium to redact from its
// logs (also when given literally rather than as a secret reference).
func (p *Plugin) SecretValues() []string {
	var out []string
	for _, c := range p.cfg.Clusters {
		if c.Token != "" {
			out = append(out, c.Token)
		}
	}
	return out
}

// fault turns a client error into a plugin error of the right kind,
// saying which cluster answered what.
func fault(c cluster, err error, doing string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s on %s: %w", doing, c.cfg.Name, err)
	}
	kind := plugin.ErrUnavailable
	switch kube.StatusOf(err) {
	case 400, 422:
		kind = plugin.ErrInvalid
	case 403:
		kind = plugin.ErrForbidden
	case 404:
		kind = plugin.ErrNotFound
	case 409:
		kind = plugin.ErrConflict
	}
	return plugin.Errorf(kind, "%s: %s", doing, c.client.Describe(err))
}
