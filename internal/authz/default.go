package authz

import _ "embed"

// defaultPolicy is the policy in force when none is configured.
//
//go:embed default_policy.yaml
var defaultPolicy []byte

// DefaultPolicySource names the default policy in errors and on the
// permissions page.
const DefaultPolicySource = "default policy (built in)"

// DefaultPolicy returns the text of the built-in default policy.
func DefaultPolicy() []byte { return append([]byte(nil), defaultPolicy...) }
