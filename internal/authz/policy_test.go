package authz

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPolicyErrors(t *testing.T) {
	tests := []struct {
		name   string
		policy string
		want   []string // each must appear in the error
	}{
		{"yaml syntax", "roles: [\n", []string{"p.yaml: "}},
		{"unknown top key", "role: []\n", []string{`p.yaml:1: unknown key "role" (expected apiVersion, bindings, roles, rules)`}},
		{"bad apiVersion", "apiVersion: v2\n", []string{`p.yaml:1: apiVersion must be atrium.dev/v1, got "v2"`}},
		{"unknown permission", "roles:\n  - name: r\n    permissions: [catalog.entity.reed]\n",
			[]string{`p.yaml:3: role "r": unknown permission "catalog.entity.reed" (did you mean "catalog.entity.read"?)`}},
		{"role without permissions", "roles:\n  - name: r\n", []string{`p.yaml:2: role "r": permissions is required`}},
		{"duplicate role", "roles:\n  - name: r\n    permissions: ['*']\n  - name: r\n    permissions: ['*']\n",
			[]string{`p.yaml:4: role "r": a role with this name is already defined`}},
		{"binding to unknown role", "bindings:\n  - role: ghost\n    subjects: ['*']\n", []string{`p.yaml:2: bindings[0]: no role named "ghost"`}},
		{"bad subject", "roles:\n  - name: r\n    permissions: ['*']\nbindings:\n  - role: r\n    subjects: [component:default/x]\n",
			[]string{`p.yaml:6: bindings[0]: subject "component:default/x" must be a user or a group`}},
		{"bad effect", "rules:\n  - name: x\n    effect: maybe\n    permissions: ['*']\n", []string{`p.yaml:3: rule "x": effect must be allow or deny, got "maybe"`}},
		{"CEL syntax error", "rules:\n  - name: x\n    effect: allow\n    permissions: [catalog.entity.read]\n    condition: resource.kind ==\n",
			[]string{`p.yaml:5: rule "x": condition, column 17: Syntax error`}},
		{"CEL error in a block scalar", "rules:\n  - name: x\n    effect: allow\n    permissions: [catalog.entity.read]\n    condition: |\n      resource.kind == \"api\" &&\n        resource.name.endsWith(\"x\")\n",
			[]string{`p.yaml:7: rule "x": condition, column 25: endsWith() over resource attributes cannot become a catalog filter`}},
		{"untranslatable", "rules:\n  - name: x\n    effect: deny\n    permissions: [catalog.entity.read]\n    condition: size(resource.tags) > 1\n",
			[]string{`p.yaml:5: rule "x": condition, column`, "cannot become a catalog filter"}},
		{"resource on a basic permission", "rules:\n  - name: x\n    effect: allow\n    permissions: [catalog.location.read]\n    condition: resource.kind == 'api'\n",
			[]string{`p.yaml:5: rule "x": condition reads resource, but catalog.location.read has no catalog entity to test`}},
		{"unknown principal attribute", "rules:\n  - name: x\n    effect: allow\n    permissions: ['*']\n    condition: principal.email == 'a'\n",
			[]string{`rule "x": condition, column 10: principal has no attribute "email"`}},
		{"several problems at once", "rules:\n  - effect: allow\n    permissions: [nope]\n",
			[]string{`p.yaml:2: rules[0]: name is required`, `p.yaml:3: rules[0]: unknown permission "nope"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "p.yaml")
			if err := os.WriteFile(path, []byte(tt.policy), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := New(Params{Files: []string{path}})
			if err == nil {
				t.Fatal("got no error")
			}
			msg := strings.ReplaceAll(err.Error(), path, "p.yaml")
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("got %v, want it to contain %q", msg, w)
				}
			}
		})
	}
}

func TestPolicyWildcardSkipsBasicPermissions(t *testing.T) {
	// A condition over resource under a wildcard applies to the
	// permissions that have entities, and is skipped for the others.
	a := newTestAuthorizer(t, "rules:\n  - name: all\n    effect: allow\n    permissions: ['catalog.*']\n    condition: resource.kind == 'api'\n")
	d, err := a.Authorize(context.Background(), user("user:default/jane"), "catalog.location.read", nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.Result != Deny {
		t.Errorf("got %v, want DENY (the rule cannot apply to catalog.location.read)", d.Result)
	}
	d, err = a.Authorize(context.Background(), user("user:default/jane"), "catalog.entity.read", nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.Result != Conditional || FilterString(d.Filter) != "kind in (api)" {
		t.Errorf("got %v %s, want CONDITIONAL kind in (api)", d.Result, FilterString(d.Filter))
	}
}

const goodPolicy = "roles:\n  - name: r\n    permissions: [catalog.entity.read]\nbindings:\n  - role: r\n    subjects: ['*']\n"
const otherGoodPolicy = "roles:\n  - name: r\n    permissions: [catalog.entity.read, catalog.location.read]\nbindings:\n  - role: r\n    subjects: ['*']\n"
const badPolicy = "roles:\n  - name: r\n    permissions: [catalog.entity.read]\n    condition: resource.kind ==\n"

func TestReload(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "policy.yaml")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(goodPolicy)
	a, err := New(Params{Files: []string{path}, Audit: discardAudit})
	if err != nil {
		t.Fatal(err)
	}
	jane := user("user:default/jane")
	locationRead := func() Result {
		t.Helper()
		d, err := a.Authorize(ctx, jane, "catalog.location.read", nil)
		if err != nil {
			t.Fatal(err)
		}
		return d.Result
	}
	if got := locationRead(); got != Deny {
		t.Fatalf("got %v, want DENY before the reload", got)
	}

	// good → bad: the good policy stays, the error is kept.
	write(badPolicy)
	changed, err := a.Reload()
	if err == nil || changed {
		t.Fatalf("got changed=%v, err=%v; want an error and no change", changed, err)
	}
	st := a.Status()
	if !strings.Contains(st.LastError, "Syntax error") || !strings.Contains(st.LastError, path+":4") {
		t.Errorf("got status error %q, want the syntax error with file and line", st.LastError)
	}
	if got := locationRead(); got != Deny {
		t.Errorf("got %v after a bad reload, want the previous policy's DENY", got)
	}
	d, err := a.Authorize(ctx, jane, "catalog.entity.read", nil)
	if err != nil || d.Result != Allow {
		t.Errorf("got %v, %v; want the previous policy to still allow catalog.entity.read", d.Result, err)
	}

	// bad → good: the new policy replaces the old one, the error clears.
	write(otherGoodPolicy)
	changed, err = a.Reload()
	if err != nil || !changed {
		t.Fatalf("got changed=%v, err=%v; want the new policy", changed, err)
	}
	if got := locationRead(); got != Allow {
		t.Errorf("got %v, want ALLOW from the new policy", got)
	}
	if st := a.Status(); st.LastError != "" {
		t.Errorf("got status error %q after a good reload, want none", st.LastError)
	}

	// Unchanged files are not reloaded.
	changed, err = a.Reload()
	if err != nil || changed {
		t.Errorf("got changed=%v, err=%v for unchanged files; want no change", changed, err)
	}
}

func TestWatchReloads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(path, []byte(goodPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := New(Params{Files: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { a.Watch(ctx, time.Millisecond); close(done) }()
	if err := os.WriteFile(path, []byte(otherGoodPolicy+"\n# changed\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Wait for the watcher to pick the change up (no deadline: the test
	// binary's timeout bounds it).
	for {
		d, err := a.Authorize(ctx, user("user:default/jane"), "catalog.location.read", nil)
		if err != nil {
			t.Fatal(err)
		}
		if d.Result == Allow {
			break
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
}

func TestNewRefusesBadPolicy(t *testing.T) {
	_, err := New(Params{Files: []string{filepath.Join(t.TempDir(), "missing.yaml")}})
	if err == nil || !strings.Contains(err.Error(), "reading policy") {
		t.Errorf("got %v, want a read error", err)
	}
	_, err = New(Params{Admins: []string{"component:default/x"}})
	if err == nil || !strings.Contains(err.Error(), "atrium.authz.admins") {
		t.Errorf("got %v, want an admins error", err)
	}
}

func TestDefaultPolicyLoads(t *testing.T) {
	a := newTestAuthorizer(t, "")
	st := a.Status()
	if !st.Default || len(st.Sources) != 1 || st.Sources[0] != DefaultPolicySource {
		t.Errorf("got %+v, want the default policy", st)
	}
}
