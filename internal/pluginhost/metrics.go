package pluginhost

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Collector exports every plugin's health as Prometheus series, labelled
// by plugin id (a bounded set: what is installed and built in).
func (h *Host) Collector() prometheus.Collector { return hostCollector{h} }

type hostCollector struct{ h *Host }

var (
	descUp       = prometheus.NewDesc("atrium_plugin_up", "1 when the plugin answers calls (running or degraded).", []string{"plugin", "kind"}, nil)
	descState    = prometheus.NewDesc("atrium_plugin_state", "1 for the plugin's current state (starting, running, degraded, crashed, stopped, disabled).", []string{"plugin", "state"}, nil)
	descRestarts = prometheus.NewDesc("atrium_plugin_restarts_total", "Restarts of the plugin's process (crashes, memory budget, operator).", []string{"plugin"}, nil)
	descCalls    = prometheus.NewDesc("atrium_plugin_calls_total", "Calls into the plugin.", []string{"plugin"}, nil)
	descErrors   = prometheus.NewDesc("atrium_plugin_call_errors_total", "Calls into the plugin that failed.", []string{"plugin"}, nil)
	descSeconds  = prometheus.NewDesc("atrium_plugin_call_duration_seconds_total", "Time spent in calls into the plugin.", []string{"plugin"}, nil)
	descMemory   = prometheus.NewDesc("atrium_plugin_memory_bytes", "Resident memory of the plugin's process.", []string{"plugin"}, nil)
	descLimit    = prometheus.NewDesc("atrium_plugin_memory_limit_bytes", "The plugin's memory budget.", []string{"plugin"}, nil)
	descUptime   = prometheus.NewDesc("atrium_plugin_uptime_seconds", "Age of the plugin's running process.", []string{"plugin"}, nil)
)

var allStates = []State{StateStarting, StateRunning, StateDegraded, StateCrashed, StateStopped, StateDisabled}

func (c hostCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descUp, descState, descRestarts, descCalls, descErrors, descSeconds, descMemory, descLimit, descUptime} {
		ch <- d
	}
}

func (c hostCollector) Collect(ch chan<- prometheus.Metric) {
	for _, st := range c.h.Stats() {
		up := 0.0
		if st.State == StateRunning || st.State == StateDegraded {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, up, st.ID, st.Kind)
		for _, s := range allStates {
			v := 0.0
			if st.State == s {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(descState, prometheus.GaugeValue, v, st.ID, string(s))
		}
		if st.Kind != "external" {
			continue
		}
		ch <- prometheus.MustNewConstMetric(descRestarts, prometheus.CounterValue, float64(st.Restarts), st.ID)
		ch <- prometheus.MustNewConstMetric(descCalls, prometheus.CounterValue, float64(st.Calls), st.ID)
		ch <- prometheus.MustNewConstMetric(descErrors, prometheus.CounterValue, float64(st.Errors), st.ID)
		ch <- prometheus.MustNewConstMetric(descSeconds, prometheus.CounterValue, st.CallSeconds, st.ID)
		ch <- prometheus.MustNewConstMetric(descMemory, prometheus.GaugeValue, float64(st.RSSBytes), st.ID)
		ch <- prometheus.MustNewConstMetric(descLimit, prometheus.GaugeValue, float64(st.MemoryLimit), st.ID)
		ch <- prometheus.MustNewConstMetric(descUptime, prometheus.GaugeValue, st.UptimeSeconds, st.ID)
	}
}
