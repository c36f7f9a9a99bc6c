package app

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/internal/secrets"
	"github.com/atrium-portal/atrium/plugin"
	"github.com/atrium-portal/atrium/plugins/gitlab"
)

// TestPluginSecretsRedacted: a token written literally in a plugin's
// configuration is redacted like a ${env:…} reference.
func TestPluginSecretsRedacted(t *testing.T) {
	p := gitlab.New(gitlab.Options{})
	cfg := `{"instances":[{"host":"gitlab.example.com","token":"glpat-literal-0123456789"}],"webhookToken":"hook-literal-0123456789"}`
	if err := p.Provision(context.Background(), plugin.Host{}, json.RawMessage(cfg)); err != nil {
		t.Fatal(err)
	}
	reg := &secrets.Registry{}
	registerPluginSecrets(reg, p)
	got := reg.Redact("calling with glpat-literal-0123456789 and hook-literal-0123456789")
	if strings.Contains(got, "literal") {
		t.Errorf("Redact = %q, want both tokens masked", got)
	}
}
