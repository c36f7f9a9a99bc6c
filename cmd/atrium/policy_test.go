package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPolicyTest(t *testing.T) {
	policy := filepath.Join("..", "..", "docs", "examples", "policy.yaml")
	cases := filepath.Join("..", "..", "docs", "examples", "policy-cases.yaml")
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"policy", "test", policy, cases}, &out, &errOut)
	if code != 0 {
		t.Fatalf("got exit %d, want 0\n%s%s", code, out.String(), errOut.String())
	}
	for _, want := range []string{"all 8 cases passed", "secret entities are hidden from developers", "denied by rule hide-secret", "CONDITIONAL"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("got %s, want it to contain %q", out.String(), want)
		}
	}
}

func TestPolicyTestMismatch(t *testing.T) {
	dir := t.TempDir()
	casesFile := filepath.Join(dir, "cases.yaml")
	err := os.WriteFile(casesFile, []byte(`cases:
  - name: wrong on purpose
    principal: { ref: user:default/jane }
    permission: atrium.admin.audit.read
    expect: allow
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"policy", "test", filepath.Join("..", "..", "docs", "examples", "policy.yaml"), casesFile}, &out, &errOut)
	if code != 1 {
		t.Fatalf("got exit %d, want 1\n%s%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "FAIL") || !strings.Contains(out.String(), "1 of 1 cases failed") {
		t.Errorf("got %s, want a FAIL row and a summary", out.String())
	}
}

func TestPolicyTestErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("rules:\n  - name: x\n    effect: allow\n    permissions: [catalog.entity.read]\n    condition: resource.kind ==\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	badCases := filepath.Join(dir, "cases.yaml")
	if err := os.WriteFile(badCases, []byte("cases:\n  - principal: { ref: user:default/jane }\n    permission: catalog.entity.fly\n    expect: allow\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	policy := filepath.Join("..", "..", "docs", "examples", "policy.yaml")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"bad policy", []string{"policy", "test", bad, badCases}, 1, bad + ":5: rule \"x\": condition, column 17: Syntax error"},
		{"bad case", []string{"policy", "test", policy, badCases}, 1, badCases + ":2: cases[0]: unknown permission \"catalog.entity.fly\""},
		{"missing argument", []string{"policy", "test", policy}, 2, "needs a policy file and a cases file"},
		{"no subcommand", []string{"policy"}, 2, "policy needs a subcommand: test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), tt.args, &out, &errOut)
			if code != tt.code || !strings.Contains(errOut.String(), tt.want) {
				t.Errorf("got exit %d, %s; want exit %d and %q", code, errOut.String(), tt.code, tt.want)
			}
		})
	}
}
