package config

import (
	"net"
	"net/url"
	"strings"
	"time"
)

// Backup configures scheduled backups and the defaults of `atrium backup`
// (atrium.backup).
type Backup struct {
	// Enabled runs the scheduled backup (default true).
	Enabled bool
	// Schedule is the time between scheduled backups (default 24h). Runs
	// start at multiples of it since the Unix epoch (UTC midnight for a day).
	Schedule time.Duration
	// To is a folder or an azblob://account/container/prefix URL (default
	// <atrium.dataDir>/backups).
	To string
	// Keep is how many backups retention keeps, newest first (default 7).
	Keep int
	// Azure holds the credentials of azblob:// targets.
	Azure AzureBackup
}

// AzureBackup holds Azure Blob Storage credentials (atrium.backup.azure);
// use secret references (${AZURE_STORAGE_KEY}, ${vault:…}) for them.
type AzureBackup struct {
	// AccountKey is the storage account's shared key (base64).
	AccountKey string
	// SASToken is a shared access signature, used when AccountKey is empty.
	SASToken string
	// Endpoint replaces https://<account>.blob.core.windows.net (Azurite,
	// sovereign clouds, private endpoints).
	Endpoint string
}

// Metrics configures the Prometheus endpoint (atrium.metrics).
type Metrics struct {
	// Listen, when set ("127.0.0.1:9090"), serves /metrics on its own
	// address without authentication; empty serves it on the main server
	// to principals holding atrium.admin.operations.read.
	Listen string
	// RefreshInterval is how long database-backed values (entity counts,
	// job queue depth, backup status) are reused between scrapes.
	RefreshInterval time.Duration
}

func backupDefaults() Backup {
	return Backup{Enabled: true, Schedule: 24 * time.Hour, Keep: 7}
}

func metricsDefaults() Metrics {
	return Metrics{RefreshInterval: 15 * time.Second}
}

func (d *decoder) backup(n *node, path string, b *Backup) {
	d.fields(n, path, map[string]func(*node, string){
		"enabled": func(v *node, p string) { d.boolean(v, p, &b.Enabled) },
		"schedule": func(v *node, p string) {
			d.duration(v, p, &b.Schedule)
			if b.Schedule < time.Minute {
				d.fail(v, p, "must be at least one minute, got %s", b.Schedule)
			}
		},
		"to": func(v *node, p string) {
			d.str(v, p, &b.To)
			if msg := checkBackupTarget(b.To); msg != "" {
				d.fail(v, p, "%s", msg)
			}
		},
		"keep": func(v *node, p string) { d.integer(v, p, 1, 10_000, &b.Keep) },
		"azure": func(v *node, p string) {
			d.fields(v, p, map[string]func(*node, string){
				"accountKey": func(x *node, q string) { d.str(x, q, &b.Azure.AccountKey) },
				"sasToken":   func(x *node, q string) { d.str(x, q, &b.Azure.SASToken) },
				"endpoint": func(x *node, q string) {
					d.str(x, q, &b.Azure.Endpoint)
					if u, err := url.Parse(b.Azure.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
						d.fail(x, q, "must be an absolute http(s) URL, got %q", b.Azure.Endpoint)
					}
				},
			})
		},
	})
}

// checkBackupTarget returns what is wrong with a backup target, or "".
func checkBackupTarget(to string) string {
	if strings.TrimSpace(to) == "" {
		return "must name a folder or an azblob://account/container/prefix URL"
	}
	if strings.Contains(to, "://") && !strings.HasPrefix(to, "azblob://") {
		return "must be a folder or an azblob:// URL, got " + to
	}
	return ""
}

func (d *decoder) metrics(n *node, path string, m *Metrics) {
	d.fields(n, path, map[string]func(*node, string){
		"listen": func(v *node, p string) {
			d.str(v, p, &m.Listen)
			if m.Listen == "" {
				return
			}
			if _, _, err := net.SplitHostPort(m.Listen); err != nil {
				d.fail(v, p, "must be host:port (127.0.0.1:9090) or empty, got %q", m.Listen)
			}
		},
		"refreshInterval": func(v *node, p string) { d.positiveDuration(v, p, &m.RefreshInterval) },
	})
}
