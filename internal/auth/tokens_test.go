package auth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/atrium-portal/atrium/internal/store"
)

// devAtrium runs Atrium in development mode (no provider): every request
// without credentials acts as jane.
func devAtrium(t testing.TB, extra string) *server {
	t.Helper()
	return startAtrium(t, "auth:\n  development: { user: user:default/jane }\n"+extra)
}

type createdToken struct {
	Token string `json:"token"`
	Item  struct {
		ID        string     `json:"id"`
		Scopes    []string   `json:"scopes"`
		ExpiresAt *time.Time `json:"expiresAt"`
	} `json:"item"`
}

func TestTokenLifecycleAPI(t *testing.T) {
	s := devAtrium(t, "")
	c := http.DefaultClient

	status, body := call(t, c, "POST", s.URL+"/api/auth/tokens", "", `{"name":"laptop","scopes":["catalog.*"],"expiresInDays":7}`)
	var tok createdToken
	if err := json.Unmarshal(body, &tok); status != 201 || err != nil {
		t.Fatalf("create: got %d %s, want 201", status, body)
	}
	if !strings.HasPrefix(tok.Token, "atr_pat_") || len(tok.Token) < 40 {
		t.Errorf("token: got %q, want atr_pat_ and 256 random bits", tok.Token)
	}
	if tok.Item.ExpiresAt == nil || time.Until(*tok.Item.ExpiresAt) > 7*24*time.Hour {
		t.Errorf("expiry: got %v, want within 7 days", tok.Item.ExpiresAt)
	}
	// Stored only as its SHA-256.
	sum := sha256.Sum256([]byte(tok.Token))
	stored, err := s.App.Store().TokenGetByHash(context.Background(), hex.EncodeToString(sum[:]))
	if err != nil || stored.ID != tok.Item.ID {
		t.Fatalf("stored token: got %+v, %v", stored, err)
	}

	status, who := whoami(t, c, s.URL, tok.Token)
	if status != 200 || who.Claims.Sub != "user:default/jane" || who.Via != "token" || len(who.Claims.Ent) != 4 {
		t.Errorf("as token: got %d %+v, want jane via token with 4 ownership refs", status, who)
	}

	// Listed without the secret, with last use recorded.
	status, body = call(t, c, "GET", s.URL+"/api/auth/tokens", "", "")
	if status != 200 || strings.Contains(string(body), tok.Token) || !strings.Contains(string(body), `"lastUsedAt"`) {
		t.Errorf("list: got %d %s, want the token without its secret and with lastUsedAt", status, body)
	}

	// A token cannot mint another token.
	if status, body := call(t, c, "POST", s.URL+"/api/auth/tokens", tok.Token, `{"name":"x"}`); status != 403 {
		t.Errorf("token minting a token: got %d %s, want 403", status, body)
	}
	// Bad requests say what is wrong.
	for _, b := range []string{`{"name":""}`, `{"name":"x","scopes":["DROP TABLE"]}`, `{"name":"x","expiresInDays":-1}`, `{"nme":"x"}`, `{"name":"x","expiresInDays":4000}`} {
		if status, body := call(t, c, "POST", s.URL+"/api/auth/tokens", "", b); status != 400 {
			t.Errorf("create %s: got %d %s, want 400", b, status, body)
		}
	}

	if status, _ := call(t, c, "DELETE", s.URL+"/api/auth/tokens/"+tok.Item.ID, "", ""); status != 204 {
		t.Fatalf("revoke: got %d, want 204", status)
	}
	if status, _ := whoami(t, c, s.URL, tok.Token); status != 401 {
		t.Errorf("revoked token: got %d, want 401", status)
	}
	if status, _ := call(t, c, "DELETE", s.URL+"/api/auth/tokens/"+tok.Item.ID, "", ""); status != 404 {
		t.Errorf("revoke twice: got %d, want 404", status)
	}
	if strings.Contains(s.Logs.String(), tok.Token) || strings.Contains(s.Logs.String(), tok.Token[8:]) {
		t.Errorf("the token secret appears in the logs")
	}
}

func TestTokenExpiryAndGarbage(t *testing.T) {
	s := devAtrium(t, "")
	ctx := context.Background()
	secret := "atr_pat_expiredexpiredexpiredexpiredexpired"
	sum := sha256.Sum256([]byte(secret))
	if err := s.App.Store().TokenCreate(ctx, store.Token{ID: "tok_old", Hash: hex.EncodeToString(sum[:]), Kind: store.TokenPersonal,
		Name: "old", Subject: "user:default/jane", CreatedBy: "test", CreatedAt: time.Now().Add(-48 * time.Hour),
		ExpiresAt: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, header string
		status       int
	}{
		{"expired", "Bearer " + secret, 401},
		{"unknown pat", "Bearer atr_pat_nope", 401},
		{"unknown svc", "Bearer atr_svc_nope", 401},
		{"garbage", "Bearer garbage", 401},
		{"basic", "Basic dXNlcjpwYXNz", 401},
		{"empty bearer", "Bearer ", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Even in development mode, wrong credentials are refused.
			status, body := call(t, http.DefaultClient, "GET", s.URL+"/api/catalog/entities", "", "", "Authorization", tt.header)
			if status != tt.status || !strings.Contains(string(body), "AuthenticationError") {
				t.Errorf("got %d %s, want %d with AuthenticationError", status, body, tt.status)
			}
		})
	}
}

func TestStaticTokens(t *testing.T) {
	s := devAtrium(t, `backend:
  auth:
    externalAccess:
      - type: static
        options: { token: static-secret-for-ci, subject: ci-pipeline }
        accessRestrictions: [{ plugin: catalog }]
`)
	status, who := whoami(t, http.DefaultClient, s.URL, "static-secret-for-ci")
	if status != 200 || who.Claims.Sub != "service:ci-pipeline" || who.Type != "service" || who.Via != "static" {
		t.Errorf("static token: got %d %+v, want service:ci-pipeline via static", status, who)
	}
	if status, _ := whoami(t, http.DefaultClient, s.URL, "static-secret-for-cx"); status != 401 {
		t.Errorf("wrong static token: got %d, want 401", status)
	}
	// Services have no personal tokens.
	if status, _ := call(t, http.DefaultClient, "GET", s.URL+"/api/auth/tokens", "static-secret-for-ci", ""); status != 403 {
		t.Errorf("service listing tokens: got %d, want 403", status)
	}
}

// jwksServer serves the public half of key as a JWKS.
func jwksServer(t testing.TB, key *rsa.PrivateKey) string {
	t.Helper()
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/.well-known/jwks.json"
}

func signJWT(t testing.TB, key *rsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	obj, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestJWKSTokens(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	jwks := jwksServer(t, key)
	s := devAtrium(t, `backend:
  auth:
    externalAccess:
      - type: jwks
        options: { url: `+jwks+`, issuer: https://issuer.test, audience: atrium, subjectPrefix: ext }
`)
	now := time.Now()
	claims := func(mod func(map[string]any)) map[string]any {
		c := map[string]any{"iss": "https://issuer.test", "sub": "ci-bot", "aud": "atrium", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
		if mod != nil {
			mod(c)
		}
		return c
	}
	tests := []struct {
		name   string
		token  string
		status int
	}{
		{"valid", signJWT(t, key, claims(nil)), 200},
		{"audience in a list", signJWT(t, key, claims(func(c map[string]any) { c["aud"] = []string{"other", "atrium"} })), 200},
		{"expired", signJWT(t, key, claims(func(c map[string]any) { c["exp"] = now.Add(-time.Minute).Unix() })), 401},
		{"wrong audience", signJWT(t, key, claims(func(c map[string]any) { c["aud"] = "someone-else" })), 401},
		{"wrong issuer", signJWT(t, key, claims(func(c map[string]any) { c["iss"] = "https://evil.test" })), 401},
		{"wrong key", signJWT(t, other, claims(nil)), 401},
		{"no subject", signJWT(t, key, claims(func(c map[string]any) { delete(c, "sub") })), 401},
		{"tampered", signJWT(t, key, claims(nil)) + "x", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, who := whoami(t, http.DefaultClient, s.URL, tt.token)
			if status != tt.status {
				t.Fatalf("got %d, want %d", status, tt.status)
			}
			if status == 200 && (who.Claims.Sub != "service:ext:ci-bot" || who.Via != "jwt") {
				t.Errorf("principal: got %+v, want service:ext:ci-bot via jwt", who)
			}
		})
	}
}

func TestTokensPage(t *testing.T) {
	s := devAtrium(t, "")
	c := browser(t)
	status, body := postForm(t, c, s.URL, "/settings/tokens", "/settings/tokens", url.Values{"name": {"from the page"}, "expiresInDays": {"3"}})
	if status != 201 {
		t.Fatalf("create: got %d %s, want 201", status, body)
	}
	secret := regexpFind(t, `<code id="token-secret">(atr_pat_[A-Za-z0-9_-]+)</code>`, body)
	if status, who := whoami(t, c, s.URL, secret); status != 200 || who.Claims.Sub != "user:default/jane" {
		t.Errorf("token from the page: got %d %+v", status, who)
	}
	// Shown once: the list page no longer has it.
	_, body = call(t, c, "GET", s.URL+"/settings/tokens", "", "")
	if strings.Contains(string(body), secret) {
		t.Errorf("the tokens page shows the secret again")
	}
	id := regexpFind(t, `<tr id="token-(tok_[0-9a-f]+)">`, body)
	if status, _ := postForm(t, c, s.URL, "/settings/tokens", "/settings/tokens/"+id+"/revoke", nil); status != 303 {
		t.Errorf("revoke: got %d, want 303", status)
	}
	if status, _ := whoami(t, c, s.URL, secret); status != 401 {
		t.Errorf("revoked: got %d, want 401", status)
	}
	// A form post without the CSRF token is refused.
	if status, _ := call(t, c, "POST", s.URL+"/settings/tokens", "", "", "Content-Type", "application/x-www-form-urlencoded", "Origin", s.URL); status != 403 {
		t.Errorf("form without CSRF token: got %d, want 403", status)
	}
}
