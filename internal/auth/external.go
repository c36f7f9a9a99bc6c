package auth

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/atrium-portal/atrium/internal/config"
	"github.com/atrium-portal/atrium/internal/fault"
)

// fromStatic returns the principal of a static token from
// backend.auth.externalAccess, or nil when the token is none of them.
// Every configured token is compared, in constant time.
func (a *Authenticator) fromStatic(secret string) *Principal {
	var match *config.ExternalAccess
	for i := range a.statics {
		if equalSecret(secret, a.staticTokens[i].Get()) && match == nil {
			match = &a.statics[i]
		}
	}
	if match == nil {
		return nil
	}
	ref := serviceRef(match.Subject)
	return &Principal{Type: PrincipalService, Ref: ref, OwnershipRefs: []string{ref}, Scopes: match.Scopes,
		Via: ViaStatic, TokenID: "static:" + match.Subject, DisplayName: match.Subject,
		Claims: map[string]any{"sub": match.Subject}}
}

func serviceRef(subject string) string {
	if strings.HasPrefix(subject, "service:") {
		return subject
	}
	return "service:" + subject
}

// jwksVerifier checks JWTs signed by a key from a JWKS endpoint
// (backend.auth.externalAccess type jwks).
type jwksVerifier struct {
	cfg    config.ExternalAccess
	client *http.Client

	once     sync.Once
	verifier *oidc.IDTokenVerifier
}

func newJWKSVerifier(cfg config.ExternalAccess, client *http.Client) *jwksVerifier {
	return &jwksVerifier{cfg: cfg, client: client}
}

func (j *jwksVerifier) get() *oidc.IDTokenVerifier {
	j.once.Do(func() {
		// The key set is fetched on first use and again when a token
		// names a key it does not know (key rotation).
		ctx := oidc.ClientContext(context.Background(), j.client)
		keys := oidc.NewRemoteKeySet(ctx, j.cfg.URL)
		j.verifier = oidc.NewVerifier(j.cfg.Issuer, keys, &oidc.Config{
			SkipClientIDCheck:    true, // audiences are checked below, any of several
			SkipIssuerCheck:      j.cfg.Issuer == "",
			SupportedSigningAlgs: j.cfg.Algorithms,
		})
	})
	return j.verifier
}

// verify returns the principal of a JWT that this endpoint's keys signed.
func (j *jwksVerifier) verify(ctx context.Context, raw string) (*Principal, error) {
	tok, err := j.get().Verify(oidc.ClientContext(ctx, j.client), raw)
	if err != nil {
		return nil, err
	}
	if len(j.cfg.Audience) > 0 && !slices.ContainsFunc(tok.Audience, func(a string) bool { return slices.Contains(j.cfg.Audience, a) }) {
		return nil, fault.New(fault.Unauthorized, "the token's audience %v is not accepted", tok.Audience)
	}
	if tok.Subject == "" {
		return nil, fault.New(fault.Unauthorized, "the token has no subject")
	}
	sub := tok.Subject
	if j.cfg.SubjectPrefix != "" {
		sub = j.cfg.SubjectPrefix + ":" + sub
	}
	ref := serviceRef(sub)
	return &Principal{Type: PrincipalService, Ref: ref, OwnershipRefs: []string{ref}, Scopes: j.cfg.Scopes,
		Via: ViaJWT, TokenID: "jwt:" + tok.Issuer + "#" + tok.Subject, DisplayName: sub,
		Claims: map[string]any{"iss": tok.Issuer, "sub": tok.Subject, "aud": tok.Audience}}, nil
}

// fromJWT tries every JWKS endpoint; the first that verifies the token wins.
func (a *Authenticator) fromJWT(ctx context.Context, raw string) (*Principal, error) {
	var last error
	for _, j := range a.jwks {
		p, err := j.verify(ctx, raw)
		if err == nil {
			return p, nil
		}
		last = err
	}
	if last != nil {
		a.log.DebugContext(ctx, "JWT refused", "error", last.Error())
	}
	return nil, fault.New(fault.Unauthorized, "the token is not valid")
}

// looksLikeJWT reports whether s has a JWT's three dot-separated parts.
func looksLikeJWT(s string) bool { return strings.Count(s, ".") == 2 }
