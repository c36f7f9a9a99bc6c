package config

import (
	"net/url"
	"path/filepath"
	"strings"
	"time"
)

// Authz configures authorization: the policy files, the admins, and how
// often policy files are checked for changes.
type Authz struct {
	// Policies are policy files (permission.policies and
	// atrium.authz.policies together), resolved against the directory of
	// the configuration file that names them. None: the built-in default
	// policy.
	Policies []string
	// Admins are user and group refs allowed every permission.
	Admins []string
	// ReloadInterval is how often policy files are checked for changes
	// (0 disables reloading).
	ReloadInterval time.Duration
	// URLRefreshInterval is how often policies given as http(s) URLs are
	// read again (0: only at start and on POST
	// /api/permission/policies/refresh).
	URLRefreshInterval time.Duration
}

func authzDefaults() Authz {
	return Authz{ReloadInterval: 2 * time.Second, URLRefreshInterval: time.Minute}
}

// IsPolicyURL reports whether a permission.policies entry is an http(s)
// URL rather than a file.
func IsPolicyURL(s string) bool {
	return strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")
}

// permission decodes Backstage's permission section. Atrium always
// enforces its policy, so `enabled: false` is accepted with a warning.
func (d *decoder) permission(n *node, path string, a *Authz) {
	d.fields(n, path, map[string]func(*node, string){
		"enabled": func(v *node, p string) {
			var on bool
			d.boolean(v, p, &on)
			if !on {
				d.warnings = append(d.warnings, v.file+": "+p+": Atrium always enforces its permission policy; false is ignored")
			}
		},
		"policies": func(v *node, p string) { d.policyFiles(v, p, a) },
	}, "rbac")
}

func (d *decoder) authz(n *node, path string, a *Authz) {
	d.fields(n, path, map[string]func(*node, string){
		"policies": func(v *node, p string) { d.policyFiles(v, p, a) },
		"admins": func(v *node, p string) {
			d.strings(v, p, &a.Admins)
			for i, s := range a.Admins {
				if !validSubjectRef(s) {
					d.fail(v.items[i], p, "must be a user or group ref such as user:default/jane or group:default/admins, got %q", s)
				}
			}
		},
		"reloadInterval":     func(v *node, p string) { d.duration(v, p, &a.ReloadInterval) },
		"urlRefreshInterval": func(v *node, p string) { d.duration(v, p, &a.URLRefreshInterval) },
	})
}

func (d *decoder) policyFiles(n *node, path string, a *Authz) {
	var files []string
	d.strings(n, path, &files)
	for i, f := range files {
		if strings.TrimSpace(f) == "" {
			d.fail(n.items[i], path, "must name a file")
			continue
		}
		if IsPolicyURL(f) {
			if u, err := url.Parse(f); err != nil || u.Host == "" {
				d.fail(n.items[i], path, "%q is not a valid http(s) URL", f)
				continue
			}
			a.Policies = append(a.Policies, f)
			continue
		}
		if !filepath.IsAbs(f) && n.file != DefaultSource && n.file != "" && !strings.HasPrefix(n.file, "environment") {
			f = filepath.Join(filepath.Dir(n.file), f)
		}
		a.Policies = append(a.Policies, f)
	}
}

func validSubjectRef(s string) bool {
	kind, rest, ok := strings.Cut(strings.ToLower(s), ":")
	return ok && (kind == "user" || kind == "group") && rest != ""
}
