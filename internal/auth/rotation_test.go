package auth_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRotatedSecretsReachConsumers rotates, through ${file:…} references,
// the OIDC client secret and a static access token of a running Atrium:
// after the secrets are refreshed the next sign-in uses the new client
// secret and the new token is accepted while the old one no longer is,
// without a restart.
func TestRotatedSecretsReachConsumers(t *testing.T) {
	m := startOIDC(t)
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "client-secret")
	tokenFile := filepath.Join(dir, "ci-token")
	write := func(path, value string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(value+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// The provider's real secret is not what Atrium starts with.
	write(secretFile, "an-outdated-client-secret")
	oldToken, newToken := "static-token-before-rotation-0123456789", "static-token-after-rotation-9876543210"
	write(tokenFile, oldToken)
	c := m.Config()
	s := startAtrium(t, "auth:\n  providers:\n    oidc:\n      development:\n"+
		"        metadataUrl: "+m.DiscoveryEndpoint()+"\n"+
		"        clientId: "+c.ClientID+"\n        clientSecret: ${file:"+secretFile+"}\n"+
		"backend:\n  auth:\n    externalAccess:\n      - { type: static, options: { token: \"${file:"+tokenFile+"}\", subject: ci } }\n")

	if status, body := signIn(t, browser(t), s.URL, m, jane); status == 200 {
		t.Fatalf("sign-in with the outdated client secret: got 200 %s, want a failure", body)
	}
	if status, _ := whoami(t, browser(t), s.URL, oldToken); status != 200 {
		t.Fatalf("the static token before rotation: got %d, want 200", status)
	}

	write(secretFile, c.ClientSecret)
	write(tokenFile, newToken)
	if got := s.App.RefreshSecrets(context.Background()); got != 2 {
		t.Fatalf("RefreshSecrets: got %d changed, want 2", got)
	}

	if status, body := signIn(t, browser(t), s.URL, m, jane); status != 200 || !strings.Contains(string(body), `"name":"jane"`) {
		t.Fatalf("sign-in after the client secret was rotated: got %d %s, want 200", status, body)
	}
	if status, _ := whoami(t, browser(t), s.URL, newToken); status != 200 {
		t.Errorf("the rotated static token: got %d, want 200", status)
	}
	if status, _ := whoami(t, browser(t), s.URL, oldToken); status != 401 {
		t.Errorf("the static token replaced by rotation: got %d, want 401", status)
	}
	if strings.Contains(s.Logs.String(), c.ClientSecret) || strings.Contains(s.Logs.String(), newToken) {
		t.Error("a rotated secret appears in the logs")
	}
}
