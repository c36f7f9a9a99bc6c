package secrets

import "errors"

var (
	errNoVault     = errors.New("no Vault client: set VAULT_ADDR and VAULT_TOKEN")
	errUnknownKind = errors.New("unknown secret reference kind (want env, file or vault)")
)
