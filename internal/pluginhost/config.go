package pluginhost

import (
	"github.com/atrium-portal/atrium/internal/config"
)

// Settings are atrium.pluginHost turned into what the host and the CLI use.
type Settings struct {
	Store     *Store
	Fetcher   *Fetcher
	Limits    Limits
	Overrides map[string]Override
	Registry  string
}

// FromConfig reads atrium.pluginHost; it fails only when caFile cannot be
// read.
func FromConfig(c config.PluginHost) (Settings, error) {
	s := Settings{
		Store:    &Store{Dir: c.Directory},
		Registry: c.Registry,
		Fetcher:  &Fetcher{AllowedHosts: c.AllowedHosts, MaxIndexBytes: c.MaxIndexBytes, MaxDownloadBytes: c.MaxDownloadBytes},
		Limits: Limits{
			MemoryLimit: c.MemoryLimit, CallTimeout: c.CallTimeout, StartTimeout: c.StartTimeout, DrainTimeout: c.DrainTimeout,
			InitialBackoff: c.Restart.InitialBackoff, MaxBackoff: c.Restart.MaxBackoff,
			BreakerThreshold: c.Restart.BreakerThreshold, BreakerCooldown: c.Restart.BreakerCooldown,
		},
		Overrides: map[string]Override{},
	}
	for id, o := range c.Plugins {
		s.Overrides[id] = Override{MemoryLimit: o.MemoryLimit, CallTimeout: o.CallTimeout, Disabled: o.Disabled}
	}
	if c.CAFile != "" {
		pool, err := LoadCAFile(c.CAFile)
		if err != nil {
			return s, err
		}
		s.Fetcher.RootCAs = pool
	}
	return s, nil
}
