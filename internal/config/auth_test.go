package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestAuthConfig(t *testing.T) {
	cfg, err := LoadBytes("app-config.yaml", []byte(`
auth:
  environment: production
  unknownUsers: guest
  session: { idleTimeout: 30m, absoluteTimeout: { hours: 12 } }
  development: { user: user:default/dev }
  providers:
    keycloak:
      production:
        metadataUrl: https://sso.example.com/realms/acme/.well-known/openid-configuration
        clientId: atrium
        clientSecret: s3cret
        additionalScopes: [groups]
        signIn:
          resolvers:
            - resolver: emailLocalPartMatchingUserEntityName
              allowedDomains: [example.com]
            - resolver: claimMatchingUserEntityAnnotation
              claim: sub
              annotation: keycloak.org/id
    microsoft:
      production: { tenantId: t-1, clientId: c, clientSecret: s }
    gitlab:
      development: { clientId: c, clientSecret: s }
backend:
  auth:
    externalAccess:
      - type: static
        options: { token: abcdefgh12, subject: ci }
        accessRestrictions: [{ plugin: catalog }, { plugin: scaffolder, permission: scaffolder.task.create }]
      - type: jwks
        options: { url: https://idp.example.com/jwks.json, issuer: https://idp.example.com, audience: atrium, subjectPrefix: ext }
`), nil)
	if err != nil {
		t.Fatalf("LoadBytes: %v", err)
	}
	a := cfg.Auth
	checks := []struct {
		name      string
		got, want any
	}{
		{"providers", len(a.Providers), 2},
		{"keycloak issuer", a.Providers[0].Issuer, "https://sso.example.com/realms/acme"},
		{"keycloak scopes", strings.Join(a.Providers[0].Scopes, " "), "groups"},
		{"keycloak resolvers", len(a.Providers[0].Resolvers), 2},
		{"domains", strings.Join(a.Providers[0].Resolvers[0].AllowedDomains, ","), "example.com"},
		{"annotation", a.Providers[0].Resolvers[1].Annotation, "keycloak.org/id"},
		{"microsoft issuer", a.Providers[1].Issuer, "https://login.microsoftonline.com/t-1/v2.0"},
		{"microsoft title", a.Providers[1].Title, "Microsoft"},
		{"default resolvers", len(a.Providers[1].Resolvers), 2},
		{"unknown", a.UnknownUsers, "guest"},
		{"idle", a.Session.IdleTimeout, 30 * time.Minute},
		{"absolute", a.Session.AbsoluteTimeout, 12 * time.Hour},
		{"dev user", a.DevelopmentUser, "user:default/dev"},
		{"external", len(cfg.Backend.Auth.ExternalAccess), 2},
		{"static scopes", strings.Join(cfg.Backend.Auth.ExternalAccess[0].Scopes, ","), "catalog.*,scaffolder.task.create"},
		{"jwks audience", strings.Join(cfg.Backend.Auth.ExternalAccess[1].Audience, ","), "atrium"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	if !slices.ContainsFunc(cfg.Warnings, func(w string) bool { return strings.Contains(w, "auth.providers.gitlab: no settings") }) {
		t.Errorf("warnings: got %v, want one about gitlab having no production settings", cfg.Warnings)
	}
}

func TestAuthConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{"flat provider", "auth:\n  providers:\n    oidc:\n      clientId: x\n",
			"app-config.yaml:4: auth.providers.oidc: settings go under the environment name, as in Backstage: auth.providers.oidc.development.clientId"},
		{"no metadata", "auth:\n  providers:\n    oidc:\n      development: { clientId: a, clientSecret: b }\n",
			"auth.providers.oidc.development: metadataUrl is required"},
		{"no secret", "auth:\n  providers:\n    oidc:\n      development: { metadataUrl: 'https://x', clientId: a }\n",
			"auth.providers.oidc.development: clientSecret is required"},
		{"bad resolver", "auth:\n  providers:\n    oidc:\n      development:\n        metadataUrl: https://x\n        clientId: a\n        clientSecret: b\n        signIn: { resolvers: [{ resolver: magic }] }\n",
			`auth.providers.oidc.development.signIn.resolvers[0].resolver: must be one of`},
		{"unknown users", "auth:\n  unknownUsers: allow\n", `auth.unknownUsers: must be one of deny, guest, got "allow"`},
		{"dev user", "auth:\n  development: { user: jane }\n", `auth.development.user: must be a full user entity ref`},
		{"short static", "backend:\n  auth:\n    externalAccess:\n      - type: static\n        options: { token: abc, subject: ci }\n",
			"app-config.yaml:4: backend.auth.externalAccess[0].options.token: must be at least 8 characters"},
		{"static subject", "backend:\n  auth:\n    externalAccess:\n      - type: static\n        options: { token: abcdefghij }\n",
			"backend.auth.externalAccess[0].options.subject: is required"},
		{"jwks url", "backend:\n  auth:\n    externalAccess:\n      - type: jwks\n        options: { url: jwks.json }\n",
			"backend.auth.externalAccess[0].options.url: must be the absolute http(s) URL of a JWKS"},
		{"legacy type", "backend:\n  auth:\n    externalAccess:\n      - type: legacy\n",
			`backend.auth.externalAccess[0].type: must be one of static, jwks, got "legacy"`},
		{"disable auth", "backend:\n  auth:\n    dangerouslyDisableDefaultAuthPolicy: true\n",
			"backend.auth.dangerouslyDisableDefaultAuthPolicy: Atrium does not run without authentication"},
		{"lifetimes", "auth:\n  tokens: { defaultLifetime: { days: 90 }, maxLifetime: { days: 30 } }\n",
			"auth.tokens.defaultLifetime: must not exceed maxLifetime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadBytes("app-config.yaml", []byte(tt.yaml), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
