// Package config loads Atrium's configuration: Backstage-style app-config YAML
// files merged in order, ${VAR} substitution, APP_CONFIG_ environment
// overrides, and a typed result whose every error names the file, line and
// key it is about.
package config

import (
	_ "embed"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is Atrium's whole configuration.
type Config struct {
	Backend Backend
	Catalog Catalog
	Auth    Auth
	Atrium  Atrium
	// Plugins is plugins.<id>: enablement and configuration per plugin.
	Plugins map[string]Plugin
	// Sources names where the configuration came from, in load order.
	Sources []string
	// Warnings are keys Backstage knows that Atrium accepts and ignores.
	Warnings []string
	// SecretRefs are the ${env:…}, ${file:…} and ${vault:…} references the
	// files hold, where they are (values are not kept here).
	SecretRefs []SecretRef
	// secretValues are the values substituted from secret references and
	// from ${VAR} at secret-looking keys; see SecretValues.
	secretValues []string
}

// Backend is the backend section.
type Backend struct {
	// BaseURL is the externally visible URL of the backend.
	BaseURL  string
	Listen   Listen
	Database Database
	Reading  Reading
	Auth     BackendAuth
	CORS     CORS
	HTTPS    HTTPS
	// TrustProxy is how many reverse proxies in front of Atrium append to
	// X-Forwarded-For (0: the peer address is the client).
	TrustProxy int
}

// Listen is where the HTTP server binds.
type Listen struct {
	Host string
	Port int
}

// Addr returns host:port for net.Listen.
func (l Listen) Addr() string { return net.JoinHostPort(l.Host, strconv.Itoa(l.Port)) }

// The database engines.
const (
	EngineSQLite   = "sqlite"
	EnginePostgres = "postgres"
)

// Database selects and tunes the store.
type Database struct {
	// Engine is EngineSQLite or EnginePostgres (from backend.database.client).
	Engine string
	// Path is the SQLite file, or ":memory:".
	Path string
	// DSN is the PostgreSQL connection string.
	DSN string
	// PoolMax bounds the connection pool (0: the driver's default).
	PoolMax int
	// StatementTimeout bounds each statement (0: none).
	StatementTimeout time.Duration
	// LookupBatch bounds how many concurrent lookups by ref or uid one
	// PostgreSQL statement carries (0: the driver's default; 1: each alone).
	LookupBatch int
}

// Reading lists the hosts that url locations and $text placeholders may read.
type Reading struct {
	Allow []ReadingAllow
}

// ReadingAllow is one allowed host, optionally restricted to path prefixes.
// Host may start with "*." to allow subdomains, or be "*" to allow any host.
type ReadingAllow struct {
	Host  string
	Paths []string
}

// Catalog is the catalog section.
type Catalog struct {
	Locations []Location
	// Rules are the global catalog rules. RulesSet reports whether the key
	// was present: absent means Backstage's default, empty means nothing.
	Rules    []Rule
	RulesSet bool
	// OrphanStrategy is "keep" or "delete".
	OrphanStrategy string
	// ProcessingInterval is the minimum time between two refreshes of an
	// entity; 0 means the default; ProcessingDisabled is `false` in YAML.
	ProcessingInterval time.Duration
	ProcessingDisabled bool
	// Readonly forbids registering and unregistering locations.
	Readonly bool
}

// Location is a static location.
type Location struct {
	Type   string
	Target string
	// Rules, when set, replace the global rules for this location's entities.
	Rules    []Rule
	RulesSet bool
}

// Rule allows kinds, optionally only from some origin locations.
type Rule struct {
	Allow     []string
	Locations []RuleLocation
}

// RuleLocation matches an origin location exactly or by glob pattern.
type RuleLocation struct {
	Type    string
	Exact   string
	Pattern string
}

// Atrium holds the settings Backstage has no key for.
type Atrium struct {
	// DataDir holds the SQLite database and the demo catalog.
	DataDir string
	// Demo writes the demo catalog under DataDir/demo and registers it.
	Demo bool
	// AllowedLocationTypes are the location types POST /locations accepts.
	AllowedLocationTypes []string
	Limits               Limits
	Security
	// Authz configures authorization (also permission.policies).
	Authz Authz
	// TechDocs bounds documentation builds.
	TechDocs TechDocs
	// Scaffolder configures software templates (also the top-level scaffolder section).
	Scaffolder Scaffolder
	// PluginHost configures external plugins (atrium.pluginHost).
	PluginHost PluginHost
	// Cache sizes the catalog's read caches.
	Cache Cache
	// Memory bounds the process's memory (atrium.memory).
	Memory Memory
	// Backup configures scheduled backups (atrium.backup).
	Backup Backup
	// Metrics configures the Prometheus endpoint (atrium.metrics).
	Metrics Metrics
	// Tracing configures OpenTelemetry traces over OTLP (atrium.tracing).
	Tracing Tracing
}

// Limits bound what one request or one location may cost.
type Limits struct {
	// MaxEntitiesPerLocation bounds the entities one location may emit.
	MaxEntitiesPerLocation int
	// MaxEntityBytes bounds the size of one processed entity.
	MaxEntityBytes int64
	// MaxFileBytes bounds one descriptor file read from a location.
	MaxFileBytes int64
	// MaxRequestBytes bounds a request body.
	MaxRequestBytes int64
	// MaxPageSize is the largest limit a paged request may ask for.
	MaxPageSize int
	// DefaultPageSize is the page size of by-query without a limit.
	DefaultPageSize int
	// MaxRefsPerRequest bounds entityRefs in POST /entities/by-refs.
	MaxRefsPerRequest int
	// StreamPageSize is the page size used to stream unpaged GET /entities.
	StreamPageSize int
	// RequestTimeout bounds the handling of one request.
	RequestTimeout time.Duration
	// ShutdownTimeout bounds a graceful shutdown.
	ShutdownTimeout time.Duration
	// ReadinessMaxWait bounds how long readiness waits for this process's
	// first load of the catalog (0: it does not wait).
	ReadinessMaxWait time.Duration
	// MaxHeaderBytes bounds request headers.
	MaxHeaderBytes int
	// PluginCardTimeout bounds rendering one plugin entity card on an
	// entity page (0: 2s); a slower card shows as unavailable.
	PluginCardTimeout time.Duration
	// MaxEntities bounds the whole catalog (0: no limit): ingestion refuses
	// new entities beyond it, with a status error on their Location.
	MaxEntities int
	// Heavy bounds concurrent heavy operations, by kind (HeavyKinds).
	Heavy map[string]Heavy
}

//go:embed default.yaml
var defaultYAML []byte

// DefaultYAML returns the embedded default configuration, used when no
// configuration file is given.
func DefaultYAML() []byte { return append([]byte(nil), defaultYAML...) }

// DefaultSource is the name the embedded default has in errors.
const DefaultSource = "default.yaml (embedded)"

// Load reads the files in order (later ones override earlier ones key by
// key), applies ${VAR} substitution and APP_CONFIG_ overrides from env, and
// returns the typed configuration. With no files the embedded default is
// used. Every problem found is returned at once, as Problems.
func Load(files []string, env map[string]string) (*Config, error) {
	return LoadWith(files, Options{Env: env})
}

// LoadWith is Load with secret references resolved through o.Resolve.
func LoadWith(files []string, o Options) (*Config, error) {
	sources := make([]source, 0, len(files))
	if len(files) == 0 {
		sources = append(sources, source{name: DefaultSource, data: defaultYAML})
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("reading configuration: %w", err)
		}
		sources = append(sources, source{name: f, data: data})
	}
	return load(sources, o)
}

// LoadBytes is Load for configuration held in memory; name is used in errors.
func LoadBytes(name string, data []byte, env map[string]string) (*Config, error) {
	return load([]source{{name: name, data: data}}, Options{Env: env})
}

type source struct {
	name string
	data []byte
}

// maxConfigBytes bounds one configuration file.
const maxConfigBytes = 4 << 20

func load(sources []source, o Options) (*Config, error) {
	env := o.Env
	sub := &substitution{env: env, resolve: o.Resolve}
	var root *node
	var probs Problems
	names := make([]string, 0, len(sources))
	for _, s := range sources {
		names = append(names, s.name)
		if len(s.data) > maxConfigBytes {
			return nil, Problems{{File: s.name, Message: fmt.Sprintf("file is larger than %d bytes", maxConfigBytes)}}
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(s.data, &doc); err != nil {
			return nil, Problems{{File: s.name, Message: strings.TrimPrefix(err.Error(), "yaml: ")}}
		}
		budget := 200_000
		n, err := fromYAML(s.name, &doc, &budget)
		if err != nil {
			return nil, Problems{{Message: err.Error()}}
		}
		if n.kind == kindNull {
			continue
		}
		if n.kind != kindMap {
			return nil, Problems{{File: s.name, Line: n.line, Message: "the top level must be an object"}}
		}
		probs = append(probs, sub.substitute(n, "")...)
		root = merge(root, n)
	}
	over, envProbs := envOverrides(env)
	probs = append(probs, envProbs...)
	root = merge(root, over)
	if len(probs) > 0 {
		return nil, probs
	}
	cfg := defaults()
	cfg.Sources = names
	if over != nil {
		cfg.Sources = append(cfg.Sources, "environment ("+EnvPrefix+"*)")
	}
	d := &decoder{}
	if root != nil {
		d.config(root, cfg)
	}
	d.finish(cfg)
	if len(d.probs) > 0 {
		return nil, d.probs
	}
	cfg.Warnings = d.warnings
	cfg.SecretRefs = sub.refs
	cfg.secretValues = sub.values
	return cfg, nil
}

// defaults returns the configuration that applies where a file says nothing.
func defaults() *Config {
	return &Config{
		Backend: Backend{
			Listen:   Listen{Host: "", Port: 7007},
			Database: Database{Engine: EngineSQLite},
		},
		Catalog: Catalog{OrphanStrategy: "delete"},
		Auth:    authDefaults(),
		Atrium: Atrium{
			DataDir:              ".atrium",
			AllowedLocationTypes: []string{"url"},
			Security:             defaultSecurity(),
			Authz:                authzDefaults(),
			TechDocs:             techDocsDefaults(),
			Scaffolder:           scaffolderDefaults(),
			Backup:               backupDefaults(),
			Metrics:              metricsDefaults(),
			Cache:                cacheDefaults(),
			Memory:               memoryDefaults(),
			PluginHost:           pluginHostDefaults(),
			Tracing:              tracingDefaults(),
			Limits: Limits{
				MaxEntitiesPerLocation: 100_000,
				MaxEntityBytes:         1 << 20,
				MaxFileBytes:           8 << 20,
				MaxRequestBytes:        4 << 20,
				MaxPageSize:            1000,
				DefaultPageSize:        20,
				MaxRefsPerRequest:      1000,
				StreamPageSize:         500,
				RequestTimeout:         60 * time.Second,
				ShutdownTimeout:        15 * time.Second,
				ReadinessMaxWait:       10 * time.Minute,
				MaxHeaderBytes:         64 << 10,
				MaxEntities:            1_000_000,
				Heavy:                  heavyDefaults(),
			},
		},
	}
}

// finish fills values derived from others and checks cross-key rules.
func (d *decoder) finish(cfg *Config) {
	db := &cfg.Backend.Database
	if db.Engine == EngineSQLite && db.Path == "" {
		db.Path = filepath.Join(cfg.Atrium.DataDir, "atrium.db")
	}
	if db.Engine == EnginePostgres && db.DSN == "" {
		d.probs = append(d.probs, Problem{Key: "backend.database.connection", Message: "required when backend.database.client is pg"})
	}
	if cfg.Atrium.PluginHost.Directory == "" {
		cfg.Atrium.PluginHost.Directory = filepath.Join(cfg.Atrium.DataDir, "plugins")
	}
	if cfg.Backend.BaseURL == "" {
		host := cfg.Backend.Listen.Host
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "localhost"
		}
		cfg.Backend.BaseURL = "http://" + net.JoinHostPort(host, strconv.Itoa(cfg.Backend.Listen.Port))
	}
	l := cfg.Atrium.Limits
	if l.DefaultPageSize > l.MaxPageSize {
		d.probs = append(d.probs, Problem{Key: "atrium.limits.defaultPageSize", Message: fmt.Sprintf("must not exceed maxPageSize (%d)", l.MaxPageSize)})
	}
	if l.StreamPageSize > l.MaxPageSize {
		cfg.Atrium.Limits.StreamPageSize = l.MaxPageSize
	}
}

func (d *decoder) config(n *node, cfg *Config) {
	d.fields(n, "", map[string]func(*node, string){
		"backend":    func(v *node, p string) { d.backend(v, p, &cfg.Backend) },
		"catalog":    func(v *node, p string) { d.catalog(v, p, &cfg.Catalog) },
		"auth":       func(v *node, p string) { d.auth(v, p, &cfg.Auth) },
		"atrium":     func(v *node, p string) { d.atrium(v, p, &cfg.Atrium) },
		"scaffolder": func(v *node, p string) { d.backstageScaffolder(v, p, &cfg.Atrium.Scaffolder) },
		"permission": func(v *node, p string) { d.permission(v, p, &cfg.Atrium.Authz) },
		"plugins":    func(v *node, p string) { d.plugins(v, p, &cfg.Plugins) },
	}, backstageSections...)
}

// backstageSections are top-level keys of Backstage's app-config that Atrium
// does not read (yet); they are accepted with a warning so that an existing
// app-config.yaml loads unchanged.
var backstageSections = []string{
	"app", "organization", "integrations", "techdocs", "proxy",
	"kubernetes", "search", "lighthouse", "costInsights", "homepage",
	"signals", "events", "notifications", "sentry", "rollbar", "newrelic", "jenkins",
	"sonarqube", "gitlab", "argocd", "dynatrace", "pagerduty", "enableExperimentalRedirectFlow",
}

func (d *decoder) backend(n *node, path string, b *Backend) {
	d.fields(n, path, map[string]func(*node, string){
		"baseUrl": func(v *node, p string) {
			d.str(v, p, &b.BaseURL)
			if u, err := url.Parse(b.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				d.fail(v, p, "must be an absolute http(s) URL, got %q", b.BaseURL)
			}
			b.BaseURL = strings.TrimRight(b.BaseURL, "/")
		},
		"listen":     func(v *node, p string) { d.listen(v, p, &b.Listen) },
		"database":   func(v *node, p string) { d.database(v, p, &b.Database) },
		"reading":    func(v *node, p string) { d.reading(v, p, &b.Reading) },
		"auth":       func(v *node, p string) { d.backendAuth(v, p, &b.Auth) },
		"cors":       func(v *node, p string) { d.cors(v, p, &b.CORS) },
		"https":      func(v *node, p string) { d.https(v, p, &b.HTTPS) },
		"trustProxy": func(v *node, p string) { d.trustProxy(v, p, &b.TrustProxy) },
	}, "csp", "cache", "workingDirectory", "rateLimit", "health",
		"lifecycle", "actions", "packages", "logger")
}

func (d *decoder) listen(n *node, path string, l *Listen) {
	if n.kind == kindScalar {
		// Backstage also accepts "host:port", ":port" or a bare port.
		s := strings.TrimSpace(n.text)
		host, port := "", s
		if strings.Contains(s, ":") {
			h, pt, err := net.SplitHostPort(s)
			if err != nil {
				d.fail(n, path, "must be \"host:port\", \":port\" or an object {host, port}, got %q", s)
				return
			}
			host, port = h, pt
		}
		v, err := strconv.Atoi(port)
		if err != nil || v < 0 || v > 65535 {
			d.fail(n, path, "port must be a number between 0 and 65535, got %q", port)
			return
		}
		l.Host, l.Port = host, v
		return
	}
	d.fields(n, path, map[string]func(*node, string){
		"host": func(v *node, p string) { d.str(v, p, &l.Host) },
		"port": func(v *node, p string) { d.integer(v, p, 0, 65535, &l.Port) },
	})
}

func (d *decoder) database(n *node, path string, db *Database) {
	var conn *node
	var connPath string
	d.fields(n, path, map[string]func(*node, string){
		"client": func(v *node, p string) {
			var c string
			d.str(v, p, &c)
			switch c {
			case "better-sqlite3", "sqlite3", "sqlite":
				db.Engine = EngineSQLite
			case "pg", "postgres", "postgresql":
				db.Engine = EnginePostgres
			default:
				d.fail(v, p, "must be better-sqlite3, sqlite3 or sqlite (SQLite) or pg (PostgreSQL), got %q", c)
			}
		},
		"connection":       func(v *node, p string) { conn, connPath = v, p },
		"pool":             func(v *node, p string) { d.pool(v, p, db) },
		"statementTimeout": func(v *node, p string) { d.duration(v, p, &db.StatementTimeout) },
		"lookupBatch":      func(v *node, p string) { d.integer(v, p, 1, 1000, &db.LookupBatch) },
	}, "knexConfig", "prefix", "plugin", "pluginDivisionMode", "ensureExists", "ensureSchemaExists", "skipMigrations", "role")
	if conn == nil {
		return
	}
	if db.Engine == EnginePostgres {
		d.pgConnection(conn, connPath, db)
	} else {
		d.sqliteConnection(conn, connPath, db)
	}
}

func (d *decoder) pool(n *node, path string, db *Database) {
	d.fields(n, path, map[string]func(*node, string){
		"max": func(v *node, p string) { d.integer(v, p, 1, 1000, &db.PoolMax) },
	}, "min", "acquireTimeoutMillis", "idleTimeoutMillis", "createTimeoutMillis")
}

func (d *decoder) sqliteConnection(n *node, path string, db *Database) {
	if n.kind == kindScalar {
		db.Path = strings.TrimSpace(n.text)
		if db.Path == "" {
			d.fail(n, path, "must name a file, a directory object or ':memory:'")
		}
		return
	}
	var dir, file string
	d.fields(n, path, map[string]func(*node, string){
		"directory": func(v *node, p string) { d.str(v, p, &dir) },
		"filename":  func(v *node, p string) { d.str(v, p, &file) },
	})
	switch {
	case file != "":
		db.Path = file
	case dir != "":
		db.Path = filepath.Join(dir, "atrium.db")
	case n.kind == kindMap:
		d.fail(n, path, "needs filename or directory")
	}
}

func (d *decoder) pgConnection(n *node, path string, db *Database) {
	if n.kind == kindScalar {
		db.DSN = strings.TrimSpace(n.text)
		if db.DSN == "" {
			d.fail(n, path, "must be a connection string or an object {host, port, user, password, database, ssl}")
		}
		return
	}
	var host, user, password, database, sslmode string
	var port int
	d.fields(n, path, map[string]func(*node, string){
		"host":     func(v *node, p string) { d.str(v, p, &host) },
		"port":     func(v *node, p string) { d.integer(v, p, 1, 65535, &port) },
		"user":     func(v *node, p string) { d.str(v, p, &user) },
		"password": func(v *node, p string) { d.str(v, p, &password) },
		"database": func(v *node, p string) { d.str(v, p, &database) },
		"ssl": func(v *node, p string) {
			switch v.kind {
			case kindScalar:
				var on bool
				d.boolean(v, p, &on)
				sslmode = map[bool]string{true: "require", false: "disable"}[on]
			case kindMap:
				// Backstage passes this object to the driver; Atrium only
				// reads whether certificates are verified.
				verify := true
				d.fields(v, p, map[string]func(*node, string){
					"rejectUnauthorized": func(x *node, q string) { d.boolean(x, q, &verify) },
				}, "ca", "cert", "key")
				sslmode = map[bool]string{true: "verify-full", false: "require"}[verify]
			default:
				d.fail(v, p, "must be true, false or an object, got %s", describe(v))
			}
		},
	}, "application_name", "connectionTimeoutMillis")
	if host == "" {
		d.fail(n, path, "host is required")
		return
	}
	u := url.URL{Scheme: "postgres", Host: host, Path: "/" + database}
	if port != 0 {
		u.Host = net.JoinHostPort(host, strconv.Itoa(port))
	}
	if user != "" {
		if password != "" {
			u.User = url.UserPassword(user, password)
		} else {
			u.User = url.User(user)
		}
	}
	if sslmode != "" {
		u.RawQuery = "sslmode=" + sslmode
	}
	db.DSN = u.String()
}

func (d *decoder) reading(n *node, path string, r *Reading) {
	d.fields(n, path, map[string]func(*node, string){
		"allow": func(v *node, p string) {
			r.Allow = []ReadingAllow{}
			d.list(v, p, func(item *node, ip string) {
				var a ReadingAllow
				d.fields(item, ip, map[string]func(*node, string){
					"host":  func(x *node, q string) { d.str(x, q, &a.Host) },
					"paths": func(x *node, q string) { d.strings(x, q, &a.Paths) },
				})
				if a.Host == "" {
					d.fail(item, ip, "host is required")
				}
				r.Allow = append(r.Allow, a)
			})
		},
	})
}

func (d *decoder) catalog(n *node, path string, c *Catalog) {
	d.fields(n, path, map[string]func(*node, string){
		"locations": func(v *node, p string) {
			c.Locations = []Location{}
			d.list(v, p, func(item *node, ip string) { c.Locations = append(c.Locations, d.location(item, ip)) })
		},
		"rules": func(v *node, p string) {
			c.Rules, c.RulesSet = d.rules(v, p), true
		},
		"orphanStrategy": func(v *node, p string) { d.oneOf(v, p, []string{"keep", "delete"}, &c.OrphanStrategy) },
		"processingInterval": func(v *node, p string) {
			if v.kind == kindScalar && strings.EqualFold(strings.TrimSpace(v.text), "false") {
				c.ProcessingDisabled = true
				return
			}
			d.duration(v, p, &c.ProcessingInterval)
			if c.ProcessingInterval > 0 && c.ProcessingInterval < time.Second {
				d.fail(v, p, "must be at least one second")
			}
		},
		"readonly": func(v *node, p string) { d.boolean(v, p, &c.Readonly) },
	}, "orphanProviderStrategy", "stitchingStrategy", "disableRelationsCompatibility",
		"processorOptions", "providers", "import", "processors", "useUrlReadersSearch")
}

func (d *decoder) location(n *node, path string) Location {
	var l Location
	d.fields(n, path, map[string]func(*node, string){
		"type":   func(v *node, p string) { d.str(v, p, &l.Type) },
		"target": func(v *node, p string) { d.str(v, p, &l.Target) },
		"rules":  func(v *node, p string) { l.Rules, l.RulesSet = d.rules(v, p), true },
	})
	if n.kind == kindMap {
		switch {
		case l.Type == "":
			d.fail(n, path, "type is required (file or url)")
		case l.Type != "file" && l.Type != "url":
			d.fail(n, path+".type", "must be file or url, got %q", l.Type)
		}
		if l.Target == "" {
			d.fail(n, path, "target is required")
		}
	}
	return l
}

func (d *decoder) rules(n *node, path string) []Rule {
	rules := []Rule{}
	d.list(n, path, func(item *node, ip string) {
		var r Rule
		hasAllow := false
		d.fields(item, ip, map[string]func(*node, string){
			"allow": func(v *node, p string) {
				d.strings(v, p, &r.Allow)
				hasAllow = true
				for i, k := range r.Allow {
					if !validKind(k) {
						d.fail(v.items[i], fmt.Sprintf("%s[%d]", p, i), "%q is not a kind (a letter, then letters and digits, at most 63)", k)
					}
				}
			},
			"locations": func(v *node, p string) {
				d.list(v, p, func(li *node, lp string) {
					var rl RuleLocation
					d.fields(li, lp, map[string]func(*node, string){
						"type":    func(x *node, q string) { d.str(x, q, &rl.Type) },
						"exact":   func(x *node, q string) { d.str(x, q, &rl.Exact) },
						"pattern": func(x *node, q string) { d.str(x, q, &rl.Pattern) },
					})
					if rl.Exact != "" && rl.Pattern != "" {
						d.fail(li, lp, "give exact or pattern, not both")
					}
					if rl.Type == "" {
						d.fail(li, lp, "type is required")
					}
					if rl.Pattern != "" {
						if _, err := filepath.Match(rl.Pattern, ""); err != nil {
							d.fail(li, lp+".pattern", "bad glob pattern %q", rl.Pattern)
						}
					}
					r.Locations = append(r.Locations, rl)
				})
			},
		})
		if item.kind == kindMap && !hasAllow {
			d.fail(item, ip, "allow is required (a list of kinds)")
		}
		rules = append(rules, r)
	})
	return rules
}

func (d *decoder) atrium(n *node, path string, a *Atrium) {
	d.fields(n, path, map[string]func(*node, string){
		"dataDir": func(v *node, p string) {
			d.str(v, p, &a.DataDir)
			if a.DataDir == "" {
				d.fail(v, p, "must not be empty")
			}
		},
		"demo": func(v *node, p string) { d.boolean(v, p, &a.Demo) },
		"allowedLocationTypes": func(v *node, p string) {
			d.strings(v, p, &a.AllowedLocationTypes)
			for i, t := range a.AllowedLocationTypes {
				if t != "file" && t != "url" {
					d.fail(v.items[i], fmt.Sprintf("%s[%d]", p, i), "must be file or url, got %q", t)
				}
			}
		},
		"limits":     func(v *node, p string) { d.limits(v, p, &a.Limits) },
		"audit":      func(v *node, p string) { d.auditSettings(v, p, &a.Audit) },
		"rateLimit":  func(v *node, p string) { d.rateLimit(v, p, &a.RateLimit) },
		"secrets":    func(v *node, p string) { d.secrets(v, p, &a.Secrets) },
		"authz":      func(v *node, p string) { d.authz(v, p, &a.Authz) },
		"techdocs":   func(v *node, p string) { d.techDocs(v, p, &a.TechDocs) },
		"scaffolder": func(v *node, p string) { d.atriumScaffolder(v, p, &a.Scaffolder) },
		"backup":     func(v *node, p string) { d.backup(v, p, &a.Backup) },
		"metrics":    func(v *node, p string) { d.metrics(v, p, &a.Metrics) },
		"cache":      func(v *node, p string) { d.cache(v, p, &a.Cache) },
		"memory":     func(v *node, p string) { d.memory(v, p, &a.Memory) },
		"pluginHost": func(v *node, p string) { d.pluginHost(v, p, &a.PluginHost) },
		"tracing":    func(v *node, p string) { d.tracing(v, p, &a.Tracing) },
	})
}

func (d *decoder) limits(n *node, path string, l *Limits) {
	d.fields(n, path, map[string]func(*node, string){
		"maxEntitiesPerLocation": func(v *node, p string) { d.integer(v, p, 1, 100_000_000, &l.MaxEntitiesPerLocation) },
		"maxEntityBytes":         func(v *node, p string) { d.bytes(v, p, &l.MaxEntityBytes) },
		"maxFileBytes":           func(v *node, p string) { d.bytes(v, p, &l.MaxFileBytes) },
		"maxRequestBytes":        func(v *node, p string) { d.bytes(v, p, &l.MaxRequestBytes) },
		"maxPageSize":            func(v *node, p string) { d.integer(v, p, 1, 100_000, &l.MaxPageSize) },
		"defaultPageSize":        func(v *node, p string) { d.integer(v, p, 1, 100_000, &l.DefaultPageSize) },
		"maxRefsPerRequest":      func(v *node, p string) { d.integer(v, p, 1, 100_000, &l.MaxRefsPerRequest) },
		"streamPageSize":         func(v *node, p string) { d.integer(v, p, 1, 100_000, &l.StreamPageSize) },
		"requestTimeout":         func(v *node, p string) { d.duration(v, p, &l.RequestTimeout) },
		"shutdownTimeout":        func(v *node, p string) { d.duration(v, p, &l.ShutdownTimeout) },
		"readinessMaxWait":       func(v *node, p string) { d.duration(v, p, &l.ReadinessMaxWait) },
		"maxHeaderBytes":         func(v *node, p string) { d.integer(v, p, 1024, 16<<20, &l.MaxHeaderBytes) },
		"pluginCardTimeout":      func(v *node, p string) { d.duration(v, p, &l.PluginCardTimeout) },
		"maxEntities":            func(v *node, p string) { d.integer(v, p, 0, 1_000_000_000, &l.MaxEntities) },
		"heavy":                  func(v *node, p string) { d.heavy(v, p, &l.Heavy) },
	})
	for _, c := range []struct {
		name string
		v    int64
	}{{"maxEntityBytes", l.MaxEntityBytes}, {"maxFileBytes", l.MaxFileBytes}, {"maxRequestBytes", l.MaxRequestBytes}} {
		if c.v <= 0 {
			d.probs = append(d.probs, Problem{File: n.file, Line: n.keyLine(c.name), Key: join(path, c.name), Message: "must be greater than 0"})
		}
	}
}

// validKind reports whether s has the form of an entity kind.
func validKind(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i, c := range s {
		letter := (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// Environ returns the process environment as a map, for Load.
func Environ() map[string]string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}
