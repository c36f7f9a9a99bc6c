package config

import (
	"fmt"
	"net"
	"regexp"
	"strings"
	"time"
)

// PluginHost configures external plugins (atrium.pluginHost): where they
// are installed, the registry they come from, and the limits the host
// keeps them in. Per-plugin enablement and configuration are plugins.<id>.
type PluginHost struct {
	// Directory holds installed plugins (default <atrium.dataDir>/plugins).
	Directory string
	// Registry is the plugin index: a file path or an https:// URL.
	Registry string
	// AllowedHosts are the hosts (host or host:port) that the registry and
	// plugin downloads may be fetched from over HTTPS.
	AllowedHosts []string
	// CAFile is a PEM file of extra certificate authorities trusted for
	// the registry and downloads (a private registry's CA).
	CAFile string
	// MaxIndexBytes bounds the index; MaxDownloadBytes one plugin binary.
	MaxIndexBytes    int64
	MaxDownloadBytes int64
	// MemoryLimit is a plugin's resident memory budget; over it the plugin
	// is restarted and the event audited.
	MemoryLimit int64
	// CallTimeout bounds one request/response call into a plugin
	// (processors, entity cards, event subscribers).
	CallTimeout time.Duration
	// StartTimeout bounds starting a plugin (launch, provision, validate).
	StartTimeout time.Duration
	// DrainTimeout bounds how long an upgrade or removal waits for calls
	// in flight on the old process before stopping it.
	DrainTimeout time.Duration
	// WatchInterval is how often the server looks at Directory for plugins
	// installed, upgraded or removed by `atrium plugin`.
	WatchInterval time.Duration
	// HealthInterval is how often memory is measured and status written.
	HealthInterval time.Duration
	// Restart is the crash-restart policy.
	Restart PluginRestart
	// UnmaintainedAfter flags plugins without a release for this long.
	UnmaintainedAfter time.Duration
	// Plugins are per-plugin overrides by plugin id.
	Plugins map[string]PluginOverride
}

// PluginRestart is how crashed plugins are restarted: exponential backoff
// from InitialBackoff to MaxBackoff; after BreakerThreshold consecutive
// failures the circuit opens for BreakerCooldown, then one probe start is
// tried (half-open).
type PluginRestart struct {
	InitialBackoff   time.Duration
	MaxBackoff       time.Duration
	BreakerThreshold int
	BreakerCooldown  time.Duration
}

// PluginOverride is atrium.pluginHost.plugins.<id>.
type PluginOverride struct {
	// MemoryLimit replaces PluginHost.MemoryLimit (0: the default).
	MemoryLimit int64
	// CallTimeout replaces PluginHost.CallTimeout (0: the default).
	CallTimeout time.Duration
	// Disabled keeps an installed plugin stopped.
	Disabled bool
}

func pluginHostDefaults() PluginHost {
	return PluginHost{
		MaxIndexBytes: 4 << 20, MaxDownloadBytes: 256 << 20, MemoryLimit: 256 << 20,
		CallTimeout: 30 * time.Second, StartTimeout: 15 * time.Second, DrainTimeout: 30 * time.Second,
		WatchInterval: 2 * time.Second, HealthInterval: 5 * time.Second,
		Restart:           PluginRestart{InitialBackoff: time.Second, MaxBackoff: time.Minute, BreakerThreshold: 5, BreakerCooldown: 5 * time.Minute},
		UnmaintainedAfter: 365 * 24 * time.Hour,
	}
}

var pluginIDPattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)

// pluginHost reads atrium.pluginHost.
func (d *decoder) pluginHost(n *node, path string, h *PluginHost) {
	d.fields(n, path, map[string]func(*node, string){
		"directory": func(v *node, p string) {
			d.str(v, p, &h.Directory)
			if h.Directory == "" {
				d.fail(v, p, "must not be empty")
			}
		},
		"registry": func(v *node, p string) {
			d.str(v, p, &h.Registry)
			if strings.Contains(h.Registry, "://") && !strings.HasPrefix(h.Registry, "https://") {
				d.fail(v, p, "must be a file path or an https:// URL, got %q", h.Registry)
			}
		},
		"allowedHosts": func(v *node, p string) {
			d.strings(v, p, &h.AllowedHosts)
			for i, host := range h.AllowedHosts {
				if host == "" || strings.ContainsAny(host, "/ ") {
					d.fail(v.items[i], fmt.Sprintf("%s[%d]", p, i), "must be a host name or host:port, got %q", host)
				} else if _, _, err := net.SplitHostPort(host); err != nil && strings.Count(host, ":") == 1 {
					d.fail(v.items[i], fmt.Sprintf("%s[%d]", p, i), "must be a host name or host:port, got %q", host)
				}
			}
		},
		"caFile":            func(v *node, p string) { d.str(v, p, &h.CAFile) },
		"maxIndexBytes":     func(v *node, p string) { d.positiveBytes(v, p, &h.MaxIndexBytes) },
		"maxDownloadBytes":  func(v *node, p string) { d.positiveBytes(v, p, &h.MaxDownloadBytes) },
		"memoryLimit":       func(v *node, p string) { d.positiveBytes(v, p, &h.MemoryLimit) },
		"callTimeout":       func(v *node, p string) { d.positiveDuration(v, p, &h.CallTimeout) },
		"startTimeout":      func(v *node, p string) { d.positiveDuration(v, p, &h.StartTimeout) },
		"drainTimeout":      func(v *node, p string) { d.positiveDuration(v, p, &h.DrainTimeout) },
		"watchInterval":     func(v *node, p string) { d.positiveDuration(v, p, &h.WatchInterval) },
		"healthInterval":    func(v *node, p string) { d.positiveDuration(v, p, &h.HealthInterval) },
		"unmaintainedAfter": func(v *node, p string) { d.positiveDuration(v, p, &h.UnmaintainedAfter) },
		"restart": func(v *node, p string) {
			r := &h.Restart
			d.fields(v, p, map[string]func(*node, string){
				"initialBackoff":   func(v *node, p string) { d.positiveDuration(v, p, &r.InitialBackoff) },
				"maxBackoff":       func(v *node, p string) { d.positiveDuration(v, p, &r.MaxBackoff) },
				"breakerThreshold": func(v *node, p string) { d.integer(v, p, 1, 1000, &r.BreakerThreshold) },
				"breakerCooldown":  func(v *node, p string) { d.positiveDuration(v, p, &r.BreakerCooldown) },
			})
			if r.InitialBackoff > r.MaxBackoff {
				d.fail(v, p+".initialBackoff", "must not exceed maxBackoff (%s)", r.MaxBackoff)
			}
		},
		"plugins": func(v *node, p string) {
			if v.kind == kindNull {
				return
			}
			if v.kind != kindMap {
				d.fail(v, p, "must be an object of plugin ids, got %s", describe(v))
				return
			}
			if h.Plugins == nil {
				h.Plugins = map[string]PluginOverride{}
			}
			for i, id := range v.keys {
				ip := join(p, id)
				if !pluginIDPattern.MatchString(id) {
					d.probs = append(d.probs, Problem{File: v.file, Line: v.keyPos[i], Key: ip, Message: "a plugin id is lower-case letters, digits and dashes, starting with a letter"})
					continue
				}
				o := h.Plugins[id]
				d.fields(v.values[id], ip, map[string]func(*node, string){
					"memoryLimit": func(v *node, p string) { d.positiveBytes(v, p, &o.MemoryLimit) },
					"callTimeout": func(v *node, p string) { d.positiveDuration(v, p, &o.CallTimeout) },
					"disabled":    func(v *node, p string) { d.boolean(v, p, &o.Disabled) },
				})
				h.Plugins[id] = o
			}
		},
	})
}

// positiveBytes is bytes refusing 0.
func (d *decoder) positiveBytes(n *node, path string, out *int64) {
	var v int64
	d.bytes(n, path, &v)
	if v <= 0 {
		if n.kind == kindScalar {
			if _, err := parseSize(n.text); err == nil {
				d.fail(n, path, "must be greater than 0")
			}
		}
		return
	}
	*out = v
}
