package secrets

import (
	"context"
	"fmt"
	"strings"
	"time"

	vault "github.com/hashicorp/vault/api"
)

// Vault reads secrets from HashiCorp Vault's KV version 2 engine.
type Vault struct {
	client *vault.Client
}

// VaultConfig says where Vault is. Empty fields come from the standard
// environment (VAULT_ADDR, VAULT_TOKEN, VAULT_NAMESPACE, VAULT_CACERT…).
type VaultConfig struct {
	Address   string
	Token     string
	Namespace string
	Timeout   time.Duration
}

// NewVault returns a client for c.
func NewVault(c VaultConfig) (*Vault, error) {
	vc := vault.DefaultConfig()
	if vc.Error != nil {
		return nil, fmt.Errorf("vault: %w", vc.Error)
	}
	if c.Address != "" {
		vc.Address = c.Address
	}
	if c.Timeout > 0 {
		vc.Timeout = c.Timeout
	} else {
		vc.Timeout = 10 * time.Second
	}
	client, err := vault.NewClient(vc)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	if c.Token != "" {
		client.SetToken(c.Token)
	}
	if c.Namespace != "" {
		client.SetNamespace(c.Namespace)
	}
	return &Vault{client: client}, nil
}

// Get resolves "MOUNT/PATH#KEY": the field KEY of the newest version of the
// KV v2 secret PATH under the engine mounted at MOUNT ("secret/atrium/db#password").
// Errors name the reference, never a value.
func (v *Vault) Get(ctx context.Context, ref string) (string, error) {
	path, key, ok := strings.Cut(ref, "#")
	mount, rest, ok2 := strings.Cut(path, "/")
	if !ok || !ok2 || key == "" || mount == "" || rest == "" {
		return "", fmt.Errorf("vault reference %q must look like MOUNT/PATH#KEY (secret/atrium/db#password)", ref)
	}
	s, err := v.client.KVv2(mount).Get(ctx, rest)
	if err != nil {
		return "", fmt.Errorf("vault: reading %s: %w", path, err)
	}
	val, ok := s.Data[key]
	if !ok {
		return "", fmt.Errorf("vault: secret %s has no key %q", path, key)
	}
	str, ok := val.(string)
	if !ok {
		return "", fmt.Errorf("vault: key %q of %s is not a string", key, path)
	}
	return str, nil
}
