package authz

import (
	"bytes"
	"context"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/atrium-portal/atrium/internal/auth"
	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/web"
)

// PagePath is the permissions page.
const PagePath = "/settings/permissions"

// PageView is the permissions page's content, for the portal's layout.
type PageView struct {
	Title  string
	Body   template.HTML
	Status int
}

// Page serves the permissions page: the caller's effective permissions,
// and, with atrium.admin.policy.read, the policy's roles, bindings and
// rules, its load status, and the effective permissions of any user.
type Page struct {
	Authorizer *Authorizer
	// Catalog resolves a user's groups; it should be the unauthorized
	// engine, since group membership is not the caller's to hide.
	Catalog engine.Catalog
	// Render wraps the body in the portal's layout.
	Render func(w http.ResponseWriter, r *http.Request, v PageView)
}

// Register adds the route.
func (p *Page) Register(mux web.Mux) { mux.HandleFunc("GET "+PagePath, p.serve) }

// EffectivePermission is one row of the effective permissions table.
type EffectivePermission struct {
	Permission Permission
	Result     Result
	Condition  string
	Reason     string
}

// Effective evaluates every permission for pr.
func (a *Authorizer) Effective(pr *auth.Principal) []EffectivePermission {
	out := make([]EffectivePermission, 0, len(Permissions))
	for _, perm := range Permissions {
		d, err := a.decide(pr, perm.Name, nil)
		row := EffectivePermission{Permission: perm, Result: d.Result, Reason: d.Reason}
		if err != nil {
			row.Result, row.Reason = Deny, err.Error()
		}
		if d.Result == Conditional {
			row.Condition = FilterString(d.Filter)
		}
		out = append(out, row)
	}
	return out
}

type pageData struct {
	Admin     bool
	Subject   string
	Principal *auth.Principal
	Problem   string
	Rows      []EffectivePermission
	Status    Status
	Policies  []*Policy
	Admins    []string
	LoadedAt  string
}

func (p *Page) serve(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	caller := auth.PrincipalFrom(ctx)
	if !authenticated(caller) {
		web.WriteError(w, r, fault.New(fault.Unauthorized, "sign in to see your permissions"))
		return
	}
	d, err := p.Authorizer.decide(caller, "atrium.admin.policy.read", nil)
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	data := pageData{Admin: d.Result == Allow, Subject: caller.Ref, Principal: caller}
	if want := strings.TrimSpace(r.URL.Query().Get("user")); want != "" && !strings.EqualFold(want, caller.Ref) {
		if !data.Admin {
			p.Authorizer.recordDenial(ctx, Decision{Permission: "atrium.admin.policy.read", Result: Deny, Reason: d.Reason}, nil)
			web.WriteError(w, r, fault.New(fault.Forbidden, "not allowed: atrium.admin.policy.read (%s); you can see your own permissions only", d.Reason))
			return
		}
		data.Subject = want
		pr, err := p.principalOf(ctx, want)
		if err != nil {
			data.Problem = err.Error()
		}
		data.Principal = pr
	}
	if data.Principal != nil {
		data.Rows = p.Authorizer.Effective(data.Principal)
	}
	if data.Admin {
		data.Status = p.Authorizer.Status()
		data.Policies = p.Authorizer.Policies()
		data.Admins = p.Authorizer.Admins()
		data.LoadedAt = data.Status.LoadedAt.UTC().Format(time.RFC3339)
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, data); err != nil {
		web.WriteError(w, r, fault.Wrap(fault.Internal, err, "rendering the permissions page"))
		return
	}
	p.Render(w, r, PageView{Title: "Permissions", Body: template.HTML(buf.String())})
}

// maxGroups bounds the groups walked when resolving a user's ownership.
const maxGroups = 1000

// principalOf builds the principal a user ref would sign in as: its own
// ref and its groups, transitively through parent groups.
func (p *Page) principalOf(ctx context.Context, ref string) (*auth.Principal, error) {
	r, err := catalog.ParseRef(ref, catalog.RefDefaults{Kind: "User"})
	if err != nil {
		return nil, fault.New(fault.Invalid, "%q is not a user ref: %v", ref, err)
	}
	if !strings.EqualFold(r.Kind, "user") {
		return nil, fault.New(fault.Invalid, "%q is not a user ref such as user:default/jane", ref)
	}
	self := r.String()
	pr := &auth.Principal{Type: auth.PrincipalUser, Ref: self, OwnershipRefs: []string{self}}
	u, err := p.Catalog.EntityByRef(ctx, self)
	if err != nil {
		if fault.Is(err, fault.NotFound) {
			return pr, fault.New(fault.NotFound, "%s is not in the catalog; it would own through its own ref only", self)
		}
		return pr, err
	}
	seen := map[string]bool{self: true}
	frontier := relationTargets(u, catalog.RelationMemberOf)
	for len(frontier) > 0 && len(seen) < maxGroups {
		var next []string
		for _, g := range frontier {
			if seen[g] {
				continue
			}
			seen[g] = true
			pr.OwnershipRefs = append(pr.OwnershipRefs, g)
			ge, err := p.Catalog.EntityByRef(ctx, g)
			if err != nil {
				continue
			}
			next = append(next, relationTargets(ge, catalog.RelationChildOf)...)
		}
		frontier = next
	}
	return pr, nil
}

func relationTargets(e *catalog.Entity, typ string) []string {
	var out []string
	for _, r := range e.Relations {
		if strings.EqualFold(r.Type, typ) {
			out = append(out, strings.ToLower(r.TargetRef))
		}
	}
	return out
}

var pageTemplate = template.Must(template.New("permissions").Funcs(template.FuncMap{
	"join":  strings.Join,
	"lower": func(r Result) string { return strings.ToLower(string(r)) },
}).Parse(`{{if .Admin}}{{with .Status.LastError}}<div class="alert err" role="alert" id="policy-error"><strong>The last policy reload failed; the previous policy stays in force.</strong><pre class="mono">{{.}}</pre></div>{{end}}{{end}}
<section class="card" aria-labelledby="eff-h">
  <h2 id="eff-h">Effective permissions of <span class="mono" id="subject">{{.Subject}}</span></h2>
  {{if .Admin}}<form method="get" action="/settings/permissions" class="row">
    <label for="user">User</label>
    <input id="user" name="user" type="text" value="{{.Subject}}" placeholder="user:default/jane" autocomplete="off">
    <button class="button subtle" type="submit">Evaluate</button>
  </form>{{end}}
  {{with .Problem}}<div class="alert warn" role="status">{{.}}</div>{{end}}
  {{with .Principal}}<p class="muted">Owns through: <span class="mono" id="ownership">{{join .OwnershipRefs ", "}}</span></p>{{end}}
  {{if .Rows}}<div class="table-wrap"><table class="list cards" id="effective">
    <thead><tr><th scope="col">Permission</th><th scope="col">Decision</th><th scope="col">On which entities / why</th></tr></thead>
    <tbody>{{range .Rows}}<tr data-permission="{{.Permission.Name}}" data-result="{{.Result}}">
      <td class="primary mono" data-label="Permission">{{.Permission.Name}}<div class="muted">{{.Permission.Description}}</div></td>
      <td data-label="Decision"><span class="badge {{lower .Result}}">{{.Result}}</span></td>
      <td class="mono" data-label="Why">{{if .Condition}}{{.Condition}}{{else}}{{.Reason}}{{end}}</td>
    </tr>{{end}}</tbody>
  </table></div>{{end}}
</section>
{{if .Admin}}<section class="card" aria-labelledby="pol-h">
  <h2 id="pol-h">Policy</h2>
  <p class="muted">{{if .Status.Default}}No policy file is configured: the built-in default policy applies.{{else}}Loaded from {{join .Status.Sources ", "}}{{end}} at {{.LoadedAt}}.{{with .Admins}} Admins: <span class="mono">{{join . ", "}}</span>.{{end}}</p>
  {{range .Policies}}<h3 class="mono">{{.Source}}</h3>
  {{if .Roles}}<div class="table-wrap"><table class="list cards roles"><thead><tr><th scope="col">Role</th><th scope="col">Permissions</th><th scope="col">Condition</th></tr></thead><tbody>
  {{range .Roles}}<tr><td class="primary" data-label="Role">{{.Name}}<div class="muted">{{.Description}}</div></td><td class="mono" data-label="Permissions">{{join .Permissions ", "}}</td><td class="mono" data-label="Condition">{{.Condition}}</td></tr>{{end}}
  </tbody></table></div>{{end}}
  {{if .Bindings}}<div class="table-wrap"><table class="list cards bindings"><thead><tr><th scope="col">Role</th><th scope="col">Subjects</th></tr></thead><tbody>
  {{range .Bindings}}<tr><td class="primary" data-label="Role">{{.Role}}</td><td class="mono" data-label="Subjects">{{join .Subjects ", "}}</td></tr>{{end}}
  </tbody></table></div>{{end}}
  {{if .Rules}}<div class="table-wrap"><table class="list cards rules"><thead><tr><th scope="col">Rule</th><th scope="col">Effect</th><th scope="col">Permissions</th><th scope="col">Subjects</th><th scope="col">Condition</th></tr></thead><tbody>
  {{range .Rules}}<tr><td class="primary" data-label="Rule">{{.Name}}<div class="muted">{{.Description}}</div></td><td data-label="Effect"><span class="badge">{{.Effect}}</span></td><td class="mono" data-label="Permissions">{{join .Permissions ", "}}</td><td class="mono" data-label="Subjects">{{if .Subjects}}{{join .Subjects ", "}}{{else}}everyone signed in{{end}}</td><td class="mono" data-label="Condition">{{.Condition}}</td></tr>{{end}}
  </tbody></table></div>{{end}}
  {{end}}
</section>{{end}}`))

// ContextAuthorizer adapts an Authorizer to callers that ask whether the
// principal in ctx holds a permission without a resource (such as the
// audit API's Authorizer interface).
type ContextAuthorizer struct{ A *Authorizer }

// Authorize reports whether the principal in ctx is allowed perm.
func (c ContextAuthorizer) Authorize(ctx context.Context, perm string) (bool, error) {
	d, err := c.A.Authorize(ctx, auth.PrincipalFrom(ctx), perm, nil)
	return d.Result == Allow, err
}
