package config

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Auth is the auth section: sign-in providers, sessions, API tokens and
// development mode.
type Auth struct {
	// Environment selects each provider's block (auth.providers.<id>.<env>);
	// Backstage's default is "development".
	Environment string
	// Providers are the sign-in providers enabled in Environment, in the
	// order the configuration lists them. None means development mode.
	Providers []AuthProvider
	Session   AuthSession
	Tokens    AuthTokens
	// UnknownUsers is what happens to a person the identity provider
	// vouches for but the catalog does not know: "deny" or "guest".
	UnknownUsers string
	// DevelopmentUser is the user every request acts as in development mode.
	DevelopmentUser string
}

// AuthProvider is one OpenID Connect sign-in provider.
type AuthProvider struct {
	// ID is the key under auth.providers (oidc, keycloak, microsoft, gitlab
	// or any name), used in the sign-in URLs.
	ID string
	// Title is shown on the sign-in page.
	Title string
	// Issuer is the OIDC issuer URL; discovery reads
	// Issuer/.well-known/openid-configuration.
	Issuer       string
	ClientID     string
	ClientSecret string
	// Scopes are requested in addition to openid.
	Scopes []string
	// Prompt is passed to the provider (e.g. "login", "consent").
	Prompt string
	// CallbackURL overrides <baseUrl>/api/auth/<id>/handler/frame.
	CallbackURL string
	// Resolvers map the provider's claims to a catalog User, tried in order.
	Resolvers []SignInResolver
	// Where names the file and line of the provider's block.
	Where string
}

// SignInResolver is one way to find the catalog User for a signed-in person.
type SignInResolver struct {
	// Resolver is a Backstage resolver name, or Atrium's
	// claimMatchingUserEntityAnnotation.
	Resolver string
	// AllowedDomains restricts emailLocalPartMatchingUserEntityName.
	AllowedDomains []string
	// Claim and Annotation configure claimMatchingUserEntityAnnotation and
	// override the defaults of the annotation resolvers.
	Claim      string
	Annotation string
	// AllowUnknown is dangerouslyAllowSignInWithoutUserInCatalog: sign in
	// as user:default/<name> even when the catalog has no such User.
	AllowUnknown bool
}

// The resolvers Atrium knows.
var signInResolvers = []string{
	"emailMatchingUserEntityProfileEmail",
	"emailLocalPartMatchingUserEntityName",
	"usernameMatchingUserEntityName",
	"preferredUsernameMatchingUserEntityName",
	"emailMatchingUserEntityAnnotation",
	"userIdMatchingUserEntityAnnotation",
	"claimMatchingUserEntityAnnotation",
}

// AuthSession bounds browser sessions.
type AuthSession struct {
	// IdleTimeout ends a session unused for this long.
	IdleTimeout time.Duration
	// AbsoluteTimeout ends a session this long after sign-in.
	AbsoluteTimeout time.Duration
}

// AuthTokens bounds API tokens.
type AuthTokens struct {
	// DefaultLifetime applies when a token is created without an expiry.
	DefaultLifetime time.Duration
	// MaxLifetime is the longest expiry a token may get (0: unbounded).
	MaxLifetime time.Duration
}

// BackendAuth is backend.auth: credentials for service-to-service callers.
type BackendAuth struct {
	ExternalAccess []ExternalAccess
}

// ExternalAccess is one entry of backend.auth.externalAccess.
type ExternalAccess struct {
	// Type is "static" or "jwks".
	Type string
	// Token and Subject configure a static token.
	Token   string
	Subject string
	// URL, Issuer, Audience, Algorithms and SubjectPrefix configure JWTs
	// verified against a JWKS.
	URL           string
	Issuer        string
	Audience      []string
	Algorithms    []string
	SubjectPrefix string
	// Scopes come from accessRestrictions: permission names, or
	// "<plugin>.*" for a whole plugin.
	Scopes []string
	// Where names the file and line of the entry.
	Where string
}

// minStaticTokenLength follows Backstage, which refuses shorter static tokens.
const minStaticTokenLength = 8

var providerIDPattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)

func authDefaults() Auth {
	return Auth{
		Environment:     "development",
		Session:         AuthSession{IdleTimeout: 8 * time.Hour, AbsoluteTimeout: 7 * 24 * time.Hour},
		Tokens:          AuthTokens{DefaultLifetime: 30 * 24 * time.Hour, MaxLifetime: 366 * 24 * time.Hour},
		UnknownUsers:    "deny",
		DevelopmentUser: "user:default/guest",
	}
}

func (d *decoder) auth(n *node, path string, a *Auth) {
	var providers *node
	var providersPath string
	d.fields(n, path, map[string]func(*node, string){
		"environment": func(v *node, p string) {
			d.str(v, p, &a.Environment)
			if a.Environment == "" {
				d.fail(v, p, "must not be empty")
			}
		},
		"providers": func(v *node, p string) { providers, providersPath = v, p },
		"session": func(v *node, p string) {
			d.fields(v, p, map[string]func(*node, string){
				"idleTimeout":     func(x *node, q string) { d.positiveDuration(x, q, &a.Session.IdleTimeout) },
				"absoluteTimeout": func(x *node, q string) { d.positiveDuration(x, q, &a.Session.AbsoluteTimeout) },
			}, "secret")
		},
		"tokens": func(v *node, p string) {
			d.fields(v, p, map[string]func(*node, string){
				"defaultLifetime": func(x *node, q string) { d.positiveDuration(x, q, &a.Tokens.DefaultLifetime) },
				"maxLifetime":     func(x *node, q string) { d.duration(x, q, &a.Tokens.MaxLifetime) },
			})
		},
		"unknownUsers": func(v *node, p string) { d.oneOf(v, p, []string{"deny", "guest"}, &a.UnknownUsers) },
		"development": func(v *node, p string) {
			d.fields(v, p, map[string]func(*node, string){
				"user": func(x *node, q string) {
					d.str(x, q, &a.DevelopmentUser)
					if !strings.HasPrefix(a.DevelopmentUser, "user:") || strings.Count(a.DevelopmentUser, "/") != 1 {
						d.fail(x, q, "must be a full user entity ref such as user:default/jane, got %q", a.DevelopmentUser)
					}
				},
			})
		},
	}, "backstageTokenExpiration", "keyStore", "omitIdentityTokenOwnershipClaim",
		"experimentalExtraAllowedOrigins", "identityTokenAlgorithm", "autologout", "pluginTokenKeyStore")
	if providers != nil {
		d.authProviders(providers, providersPath, a)
	}
	if a.Tokens.MaxLifetime > 0 && a.Tokens.DefaultLifetime > a.Tokens.MaxLifetime {
		d.probs = append(d.probs, Problem{Key: path + ".tokens.defaultLifetime", Message: fmt.Sprintf("must not exceed maxLifetime (%s)", a.Tokens.MaxLifetime)})
	}
}

func (d *decoder) positiveDuration(n *node, path string, out *time.Duration) {
	d.duration(n, path, out)
	if *out <= 0 {
		d.fail(n, path, "must be longer than zero")
	}
}

func (d *decoder) authProviders(n *node, path string, a *Auth) {
	if n.kind == kindNull {
		return
	}
	if n.kind != kindMap {
		d.fail(n, path, "must be an object with one entry per provider, got %s", describe(n))
		return
	}
	for _, id := range n.keys {
		v := n.values[id]
		p := join(path, id)
		if !providerIDPattern.MatchString(id) {
			d.fail(v, p, "provider ids are lowercase letters, digits and dashes, got %q", id)
			continue
		}
		if id == "guest" {
			d.warnings = append(d.warnings, fmt.Sprintf("%s: %s: Backstage's guest provider is not used by Atrium (development mode replaces it); ignored", v.file, p))
			continue
		}
		if v.kind != kindMap {
			d.fail(v, p, "must be an object keyed by environment (e.g. %s.%s), got %s", p, a.Environment, describe(v))
			continue
		}
		env, ok := v.values[a.Environment]
		if !ok {
			if _, flat := v.values["clientId"]; flat {
				d.fail(v, p, "settings go under the environment name, as in Backstage: %s.%s.clientId (auth.environment is %q)", p, a.Environment, a.Environment)
			} else {
				d.warnings = append(d.warnings, fmt.Sprintf("%s: %s: no settings for auth.environment %q; provider not enabled", v.file, p, a.Environment))
			}
			continue
		}
		a.Providers = append(a.Providers, d.authProvider(env, join(p, a.Environment), id))
	}
}

func (d *decoder) authProvider(n *node, path, id string) AuthProvider {
	pr := AuthProvider{ID: id, Where: n.where()}
	var metadataURL, tenantID, audience string
	var additional []string
	d.fields(n, path, map[string]func(*node, string){
		"title":        func(v *node, p string) { d.str(v, p, &pr.Title) },
		"metadataUrl":  func(v *node, p string) { d.str(v, p, &metadataURL) },
		"issuer":       func(v *node, p string) { d.str(v, p, &pr.Issuer) },
		"tenantId":     func(v *node, p string) { d.str(v, p, &tenantID) },
		"audience":     func(v *node, p string) { d.str(v, p, &audience) },
		"clientId":     func(v *node, p string) { d.str(v, p, &pr.ClientID) },
		"clientSecret": func(v *node, p string) { d.str(v, p, &pr.ClientSecret) },
		"callbackUrl":  func(v *node, p string) { d.str(v, p, &pr.CallbackURL) },
		"prompt":       func(v *node, p string) { d.str(v, p, &pr.Prompt) },
		"scope": func(v *node, p string) {
			var s string
			d.str(v, p, &s)
			pr.Scopes = strings.Fields(s)
		},
		"additionalScopes": func(v *node, p string) {
			if v.kind == kindScalar {
				additional = strings.Fields(v.text)
				return
			}
			d.strings(v, p, &additional)
		},
		"signIn": func(v *node, p string) {
			d.fields(v, p, map[string]func(*node, string){
				"resolvers": func(x *node, q string) {
					d.list(x, q, func(item *node, ip string) { pr.Resolvers = append(pr.Resolvers, d.signInResolver(item, ip)) })
				},
			})
		},
	}, "tokenEndpointAuthMethod", "tokenSignedResponseAlg", "domainHint", "skipUserProfile", "sessionDuration",
		"startUrlSearchParams", "timeout")
	pr.Scopes = append(pr.Scopes, additional...)
	switch {
	case pr.Issuer != "":
	case metadataURL != "":
		pr.Issuer = strings.TrimSuffix(strings.TrimRight(metadataURL, "/"), "/.well-known/openid-configuration")
	case id == "microsoft" && tenantID != "":
		pr.Issuer = "https://login.microsoftonline.com/" + url.PathEscape(tenantID) + "/v2.0"
	case id == "gitlab":
		pr.Issuer = "https://gitlab.com"
		if audience != "" {
			pr.Issuer = strings.TrimRight(audience, "/")
		}
	default:
		d.fail(n, path, "metadataUrl is required (the provider's /.well-known/openid-configuration URL)")
	}
	if pr.Issuer != "" {
		if u, err := url.Parse(pr.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			d.fail(n, path+".metadataUrl", "must be an absolute http(s) URL, got %q", pr.Issuer)
		}
	}
	if pr.ClientID == "" {
		d.fail(n, path, "clientId is required")
	}
	if pr.ClientSecret == "" {
		d.fail(n, path, "clientSecret is required (use a secret reference such as ${OIDC_CLIENT_SECRET})")
	}
	if pr.Title == "" {
		pr.Title = map[string]string{"microsoft": "Microsoft", "gitlab": "GitLab", "keycloak": "Keycloak", "oidc": "OpenID Connect"}[id]
		if pr.Title == "" {
			pr.Title = id
		}
	}
	if len(pr.Resolvers) == 0 {
		pr.Resolvers = []SignInResolver{{Resolver: "emailMatchingUserEntityProfileEmail"}, {Resolver: "preferredUsernameMatchingUserEntityName"}}
	}
	return pr
}

func (d *decoder) signInResolver(n *node, path string) SignInResolver {
	var r SignInResolver
	d.fields(n, path, map[string]func(*node, string){
		"resolver":       func(v *node, p string) { d.oneOf(v, p, signInResolvers, &r.Resolver) },
		"allowedDomains": func(v *node, p string) { d.strings(v, p, &r.AllowedDomains) },
		"claim":          func(v *node, p string) { d.str(v, p, &r.Claim) },
		"annotation":     func(v *node, p string) { d.str(v, p, &r.Annotation) },
		"dangerouslyAllowSignInWithoutUserInCatalog": func(v *node, p string) { d.boolean(v, p, &r.AllowUnknown) },
	})
	if n.kind == kindMap && r.Resolver == "" {
		d.fail(n, path, "resolver is required (one of %s)", strings.Join(signInResolvers, ", "))
	}
	if r.Resolver == "claimMatchingUserEntityAnnotation" && (r.Claim == "" || r.Annotation == "") {
		d.fail(n, path, "claimMatchingUserEntityAnnotation needs claim and annotation")
	}
	return r
}

func (d *decoder) backendAuth(n *node, path string, b *BackendAuth) {
	d.fields(n, path, map[string]func(*node, string){
		"externalAccess": func(v *node, p string) {
			d.list(v, p, func(item *node, ip string) { b.ExternalAccess = append(b.ExternalAccess, d.externalAccess(item, ip)) })
		},
		"dangerouslyDisableDefaultAuthPolicy": func(v *node, p string) {
			var off bool
			d.boolean(v, p, &off)
			if off {
				d.fail(v, p, "Atrium does not run without authentication; remove this key (use development mode on 127.0.0.1 instead)")
			}
		},
	}, "keys", "pluginKeyStore", "omitIdentityTokenOwnershipClaim")
}

func (d *decoder) externalAccess(n *node, path string) ExternalAccess {
	e := ExternalAccess{Where: n.where()}
	d.fields(n, path, map[string]func(*node, string){
		"type": func(v *node, p string) { d.oneOf(v, p, []string{"static", "jwks"}, &e.Type) },
		"options": func(v *node, p string) {
			d.fields(v, p, map[string]func(*node, string){
				"token":         func(x *node, q string) { d.str(x, q, &e.Token) },
				"subject":       func(x *node, q string) { d.str(x, q, &e.Subject) },
				"url":           func(x *node, q string) { d.str(x, q, &e.URL) },
				"issuer":        func(x *node, q string) { d.str(x, q, &e.Issuer) },
				"audience":      func(x *node, q string) { d.stringOrList(x, q, &e.Audience) },
				"algorithm":     func(x *node, q string) { d.stringOrList(x, q, &e.Algorithms) },
				"subjectPrefix": func(x *node, q string) { d.str(x, q, &e.SubjectPrefix) },
			})
		},
		"accessRestrictions": func(v *node, p string) {
			d.list(v, p, func(item *node, ip string) {
				var plugin string
				var perms []string
				d.fields(item, ip, map[string]func(*node, string){
					"plugin":     func(x *node, q string) { d.str(x, q, &plugin) },
					"permission": func(x *node, q string) { d.stringOrList(x, q, &perms) },
				}, "permissionAttribute")
				switch {
				case len(perms) > 0:
					e.Scopes = append(e.Scopes, perms...)
				case plugin != "":
					e.Scopes = append(e.Scopes, plugin+".*")
				default:
					d.fail(item, ip, "plugin is required")
				}
			})
		},
	})
	if n.kind != kindMap {
		return e
	}
	switch e.Type {
	case "static":
		if len(e.Token) < minStaticTokenLength || strings.ContainsAny(e.Token, " \t\r\n") {
			d.fail(n, path+".options.token", "must be at least %d characters without whitespace", minStaticTokenLength)
		}
		if e.Subject == "" {
			d.fail(n, path+".options.subject", "is required (it names the caller in the audit log)")
		}
	case "jwks":
		if u, err := url.Parse(e.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			d.fail(n, path+".options.url", "must be the absolute http(s) URL of a JWKS, got %q", e.URL)
		}
	case "":
		d.fail(n, path, "type is required (static or jwks)")
	}
	return e
}

// stringOrList reads a string or a list of strings.
func (d *decoder) stringOrList(n *node, path string, out *[]string) {
	if n.kind == kindScalar {
		*out = []string{n.text}
		return
	}
	d.strings(n, path, out)
}
