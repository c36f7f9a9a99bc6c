package apptest

import (
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
)

// ExamplePolicy returns the absolute path of docs/examples/policy.yaml, the
// policy the tests' users (jane a developer, sam without scaffolder
// permission, ann an auditor) are written for, wherever the test runs.
func ExamplePolicy(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("apptest: no source path to find docs/examples/policy.yaml from")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "docs", "examples", "policy.yaml")
}

// ExamplePolicyConfig is the top-level permission section that enables
// ExamplePolicy.
func ExamplePolicyConfig(t testing.TB) string {
	t.Helper()
	return fmt.Sprintf("permission:\n  enabled: true\n  policies: [%q]\n", ExamplePolicy(t))
}
