package config

import (
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Resolver resolves a secret reference of a kind other than env and file
// (vault), or re-resolves any kind; ref is what follows "kind:". Its errors
// must not contain the secret.
type Resolver func(kind, ref string) (string, error)

// Options are what LoadWith needs besides the files.
type Options struct {
	// Env feeds ${VAR} and ${env:NAME}.
	Env map[string]string
	// Resolve resolves ${vault:…} references; without it they are errors.
	Resolve Resolver
}

// SecretRef is where a configuration file references a secret.
type SecretRef struct {
	// Key is the configuration key ("auth.providers.oidc.production.clientSecret").
	Key  string
	File string
	Line int
	// Kind is env, file or vault; Ref is what follows "kind:".
	Kind string
	Ref  string
}

// SecretValues returns the values that came from secret references and
// from ${VAR} at keys that name secrets (password, secret, token, key…), so
// that logs, errors and dumps can redact them.
func (c *Config) SecretValues() []string { return c.secretValues }

// substitution carries the state of one Load's substitution pass.
type substitution struct {
	env     map[string]string
	resolve Resolver
	at      SecretRef // the scalar being expanded
	refs    []SecretRef
	values  []string
}

// secretRef splits "kind:ref" for the secret reference kinds.
func secretRef(expr string) (kind, ref string, ok bool) {
	kind, ref, ok = strings.Cut(expr, ":")
	if !ok || strings.HasPrefix(ref, "-") {
		return "", "", false
	}
	switch kind {
	case "env", "file", "vault":
		return kind, strings.TrimSpace(ref), true
	}
	return "", "", false
}

// secret resolves one reference and remembers it.
func (sub *substitution) secret(kind, ref string) (string, error) {
	var v string
	switch kind {
	case "env":
		if !validVarName(ref) {
			return "", fmt.Errorf("invalid variable name %q in ${env:%s}", ref, ref)
		}
		var ok bool
		if v, ok = sub.env[ref]; !ok {
			return "", fmt.Errorf("environment variable %s is not set (referenced by ${env:%s})", ref, ref)
		}
	case "file":
		data, err := os.ReadFile(ref)
		if err != nil {
			return "", fmt.Errorf("reading the secret file of ${file:%s}: %v", ref, pathError(err))
		}
		v = strings.TrimRight(string(data), "\r\n")
	default:
		if sub.resolve == nil {
			return "", fmt.Errorf("${%s:%s} cannot be resolved here: %s references need a resolver (atrium serve sets one up from VAULT_ADDR and VAULT_TOKEN)", kind, ref, kind)
		}
		var err error
		if v, err = sub.resolve(kind, ref); err != nil {
			return "", fmt.Errorf("resolving ${%s:%s}: %v", kind, ref, err)
		}
	}
	r := sub.at
	r.Kind, r.Ref = kind, ref
	sub.refs = append(sub.refs, r)
	sub.values = append(sub.values, v)
	return v, nil
}

// pathError keeps only the reason of a file error (the path is already in
// the message).
func pathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

var secretKeyPattern = regexp.MustCompile(`(?i)(password|passwd|secret|token|key|credential|credentials|connection)$`)

// secretKey reports whether a configuration key names a secret.
func secretKey(path string) bool {
	last := path
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		last = path[i+1:]
	}
	return secretKeyPattern.MatchString(last)
}
