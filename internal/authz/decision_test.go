package authz

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/atrium-portal/atrium/internal/audit"
	"github.com/atrium-portal/atrium/internal/auth"
	"github.com/atrium-portal/atrium/internal/catalog"
)

func discardAudit(context.Context, audit.Event) error { return nil }

// decisionCase is one row of a decision table: who, what, on which entity
// (nil: none), and the expected result.
type decisionCase struct {
	who    string
	perm   string
	entity string
	want   Result
}

func runDecisionTable(t *testing.T, a *Authorizer, principals map[string]*auth.Principal, entities map[string]*catalog.Entity, cases []decisionCase) {
	t.Helper()
	covered := map[string]bool{}
	for _, c := range cases {
		covered[c.perm] = true
		t.Run(c.who+"/"+c.perm+"/"+c.entity, func(t *testing.T) {
			var res *Resource
			if c.entity != "" {
				res = &Resource{Entity: entities[c.entity]}
			}
			d, err := a.Authorize(context.Background(), principals[c.who], c.perm, res)
			if err != nil {
				t.Fatal(err)
			}
			if d.Result != c.want {
				t.Errorf("got %v (%s), want %v", d.Result, d.Reason, c.want)
			}
			if d.Result == Deny && d.Reason == "" {
				t.Errorf("got a denial without a reason")
			}
		})
	}
	for _, p := range Permissions {
		if !covered[p.Name] {
			t.Errorf("the decision table has no row for %s", p.Name)
		}
	}
}

var tablePrincipals = map[string]*auth.Principal{
	"jane":   user("user:default/jane", "group:default/team-a", "group:default/developers"),
	"sec":    user("user:default/sam", "group:default/security"),
	"admin":  user("user:default/root", "group:default/admins"),
	"ci":     service("service:ci"),
	"other":  service("service:other"),
	"anon":   {Type: auth.PrincipalNone},
	"nobody": nil,
	"scoped": {Type: auth.PrincipalUser, Ref: "user:default/jane", OwnershipRefs: []string{"user:default/jane", "group:default/team-a"}, Scopes: []string{"catalog.entity.read"}},
}

var tableEntities = map[string]*catalog.Entity{
	"mine":       component("mine", "team-a", "experimental"),
	"mine-prod":  component("mine-prod", "group:default/team-a", "production"),
	"theirs":     component("theirs", "team-b", "experimental"),
	"secret":     component("secret", "team-a", "experimental", "secret"),
	"by-jane":    component("by-jane", "user:default/jane", "experimental"),
	"unowned":    {APIVersion: "backstage.io/v1alpha1", Kind: "Location", Metadata: catalog.Metadata{Name: "loc", Namespace: "default"}},
	"mixed-case": component("mixed-case", "group:default/TEAM-A", "experimental"),
}

func TestDecisionsDefaultPolicy(t *testing.T) {
	a := newTestAuthorizer(t, "", "group:default/admins")
	cases := []decisionCase{
		{"jane", "catalog.entity.read", "", Allow},
		{"jane", "catalog.entity.read", "theirs", Allow},
		{"ci", "catalog.entity.read", "", Allow},
		{"anon", "catalog.entity.read", "", Deny},
		{"nobody", "catalog.entity.read", "mine", Deny},
		{"jane", "catalog.entity.refresh", "theirs", Allow},
		{"jane", "catalog.entity.create", "", Conditional},
		{"jane", "catalog.entity.create", "mine", Allow},
		{"jane", "catalog.entity.create", "theirs", Deny},
		{"jane", "catalog.entity.delete", "", Conditional},
		{"jane", "catalog.entity.delete", "mine", Allow},
		{"jane", "catalog.entity.delete", "mixed-case", Allow},
		{"jane", "catalog.entity.delete", "by-jane", Allow},
		{"jane", "catalog.entity.delete", "theirs", Deny},
		{"jane", "catalog.entity.delete", "unowned", Deny},
		{"admin", "catalog.entity.delete", "theirs", Allow},
		{"admin", "catalog.entity.delete", "", Allow},
		{"ci", "catalog.entity.delete", "mine", Deny},
		{"jane", "catalog.location.read", "", Allow},
		{"jane", "catalog.location.create", "mine", Allow},
		{"jane", "catalog.location.create", "theirs", Deny},
		{"admin", "catalog.location.create", "", Allow},
		{"jane", "catalog.location.delete", "theirs", Deny},
		{"jane", "catalog.location.delete", "mine", Allow},
		{"jane", "scaffolder.template.parameter.read", "", Allow},
		{"jane", "scaffolder.template.step.read", "", Allow},
		{"jane", "scaffolder.action.execute", "", Allow},
		{"jane", "scaffolder.task.create", "", Allow},
		{"jane", "scaffolder.task.read", "", Allow},
		{"jane", "scaffolder.task.cancel", "", Deny},
		{"admin", "scaffolder.task.cancel", "", Allow},
		{"anon", "scaffolder.task.create", "", Deny},
		{"jane", "atrium.admin.audit.read", "", Deny},
		{"admin", "atrium.admin.audit.read", "", Allow},
		{"jane", "atrium.admin.tokens.manage", "", Deny},
		{"admin", "atrium.admin.tokens.manage", "", Allow},
		{"jane", "atrium.admin.policy.read", "", Deny},
		{"admin", "atrium.admin.policy.read", "", Allow},
		{"jane", "atrium.admin.policy.refresh", "", Deny},
		{"admin", "atrium.admin.policy.refresh", "", Allow},
		{"jane", "atrium.admin.plugins.read", "", Deny},
		{"admin", "atrium.admin.plugins.read", "", Allow},
		{"jane", "atrium.admin.plugins.manage", "", Deny},
		{"admin", "atrium.admin.plugins.manage", "", Allow},
		{"jane", "atrium.admin.secrets.manage", "", Deny},
		{"admin", "atrium.admin.secrets.manage", "", Allow},
		{"jane", "atrium.admin.operations.read", "", Deny},
		{"admin", "atrium.admin.operations.read", "", Allow},
		{"jane", "atrium.admin.operations.manage", "", Deny},
		{"admin", "atrium.admin.operations.manage", "", Allow},
		{"scoped", "catalog.entity.read", "mine", Allow},
		{"scoped", "catalog.entity.delete", "mine", Deny},
	}
	runDecisionTable(t, a, tablePrincipals, tableEntities, cases)
}

func TestDecisionsSamplePolicy(t *testing.T) {
	a := newTestAuthorizer(t, readFile(t, "testdata/sample_policy.yaml"), "group:default/admins")
	cases := []decisionCase{
		{"jane", "catalog.entity.read", "", Conditional},
		{"jane", "catalog.entity.read", "mine", Allow},
		{"jane", "catalog.entity.read", "secret", Deny},
		{"sec", "catalog.entity.read", "secret", Allow},
		{"sec", "catalog.entity.read", "", Allow},
		{"admin", "catalog.entity.read", "secret", Deny}, // deny rules apply to admins too
		{"ci", "catalog.entity.read", "theirs", Allow},
		{"anon", "catalog.entity.read", "mine", Deny},
		{"jane", "catalog.entity.create", "mine", Allow},
		{"jane", "catalog.entity.create", "theirs", Deny},
		{"jane", "catalog.entity.delete", "mine", Allow},
		{"jane", "catalog.entity.delete", "mine-prod", Deny},
		{"admin", "catalog.entity.delete", "mine-prod", Deny},
		{"admin", "catalog.entity.delete", "theirs", Allow},
		{"jane", "catalog.entity.refresh", "theirs", Deny},
		{"jane", "catalog.entity.refresh", "mine", Allow},
		{"ci", "catalog.entity.refresh", "theirs", Allow},
		{"other", "catalog.entity.refresh", "theirs", Deny},
		{"ci", "catalog.entity.delete", "theirs", Deny},
		{"jane", "catalog.location.read", "", Allow},
		{"jane", "catalog.location.create", "mine", Allow},
		{"jane", "catalog.location.delete", "theirs", Deny},
		{"jane", "scaffolder.template.parameter.read", "", Allow},
		{"sec", "scaffolder.template.step.read", "", Deny},
		{"jane", "scaffolder.action.execute", "", Allow},
		{"jane", "scaffolder.task.create", "", Allow},
		{"sec", "scaffolder.task.read", "", Deny},
		{"jane", "scaffolder.task.cancel", "", Allow},
		{"sec", "atrium.admin.audit.read", "", Allow},
		{"jane", "atrium.admin.audit.read", "", Deny},
		{"sec", "atrium.admin.policy.read", "", Allow},
		{"sec", "atrium.admin.policy.refresh", "", Deny},
		{"admin", "atrium.admin.policy.refresh", "", Allow},
		{"jane", "atrium.admin.plugins.read", "", Deny},
		{"admin", "atrium.admin.plugins.manage", "", Allow},
		{"jane", "atrium.admin.tokens.manage", "", Deny},
		{"admin", "atrium.admin.secrets.manage", "", Allow},
		{"jane", "atrium.admin.operations.read", "", Deny},
		{"admin", "atrium.admin.operations.read", "", Allow},
		{"jane", "atrium.admin.operations.manage", "", Deny},
		{"admin", "atrium.admin.operations.manage", "", Allow},
	}
	runDecisionTable(t, a, tablePrincipals, tableEntities, cases)
}

func TestDecisionReasons(t *testing.T) {
	a := newTestAuthorizer(t, readFile(t, "testdata/sample_policy.yaml"))
	tests := []struct {
		who, perm, entity, want string
	}{
		{"jane", "catalog.entity.read", "secret", "denied by rule hide-secret"},
		{"jane", "catalog.entity.delete", "mine-prod", "denied by rule no-production-deletes"},
		{"jane", "catalog.entity.delete", "theirs", "no role or rule allows catalog.entity.delete on this entity"},
		{"jane", "atrium.admin.audit.read", "", "no role or rule allows atrium.admin.audit.read"},
		{"anon", "catalog.entity.read", "", "not signed in"},
		{"scoped", "catalog.location.read", "", "the token's scopes do not include catalog.location.read"},
	}
	for _, tt := range tests {
		t.Run(tt.who+"/"+tt.perm, func(t *testing.T) {
			var res *Resource
			if tt.entity != "" {
				res = &Resource{Entity: tableEntities[tt.entity]}
			}
			d, err := a.Authorize(context.Background(), tablePrincipals[tt.who], tt.perm, res)
			if err != nil {
				t.Fatal(err)
			}
			if d.Reason != tt.want {
				t.Errorf("got %q, want %q", d.Reason, tt.want)
			}
		})
	}
}

func TestUnknownPermission(t *testing.T) {
	a := newTestAuthorizer(t, "")
	_, err := a.Authorize(context.Background(), tablePrincipals["jane"], "catalog.entity.fly", nil)
	if err == nil || !strings.Contains(err.Error(), `unknown permission "catalog.entity.fly"`) {
		t.Errorf("got %v, want an unknown permission error", err)
	}
}

// auditRecorder keeps the events recorded through Params.Audit.
type auditRecorder struct {
	mu     sync.Mutex
	events []audit.Event
}

func (r *auditRecorder) record(_ context.Context, ev audit.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	return nil
}

func TestDenialsAreAudited(t *testing.T) {
	rec := &auditRecorder{}
	a, err := New(Params{Audit: rec.record})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	jane := tablePrincipals["jane"]
	if _, err := a.Authorize(ctx, jane, "catalog.entity.read", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authorize(ctx, jane, "catalog.entity.delete", &Resource{Entity: tableEntities["theirs"]}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authorize(ctx, jane, "atrium.admin.audit.read", nil); err != nil {
		t.Fatal(err)
	}
	if len(rec.events) != 2 {
		t.Fatalf("got %d audit events, want 2 (one per denial): %+v", len(rec.events), rec.events)
	}
	got := rec.events[0]
	if got.Action != "catalog.entity.delete" || got.Outcome != audit.Denied || got.Resource != "component:default/theirs" {
		t.Errorf("got %+v, want a denied catalog.entity.delete on component:default/theirs", got)
	}
	if !slices.ContainsFunc(rec.events, func(ev audit.Event) bool { return ev.Action == "atrium.admin.audit.read" }) {
		t.Errorf("got %+v, want the denied atrium.admin.audit.read", rec.events)
	}
}
