package auth

import (
	"bytes"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/web"
)

// pages are the bodies of the authentication pages; the portal's layout
// (Params.Render) or a minimal page wraps them. No inline scripts or styles.
var pages = template.Must(template.New("").Parse(`
{{define "login"}}<section class="auth-login" id="sign-in">
{{if .SignedOut}}<p class="notice" id="signed-out">You are signed out.</p>{{end}}
{{if .Development}}<div class="banner banner-dev" id="dev-mode"><strong>Development mode — no sign-in configured.</strong>
Every request acts as <code>{{.DevUser}}</code>. Atrium allows this only on a loopback address; configure <code>auth.providers</code> to require sign-in.</div>
<p><a class="button" id="continue" href="{{.Redirect}}">Continue as {{.DevUser}}</a></p>
{{else}}<p>Sign in to continue.</p>
<ul class="providers">{{range .Providers}}
<li><a class="button" id="provider-{{.ID}}" href="/api/auth/{{.ID}}/start?redirect={{$.Redirect}}">Sign in with {{.Title}}</a></li>{{end}}
</ul>{{end}}
</section>{{end}}

{{define "failed"}}<section class="auth-failed" id="sign-in-failed">
<p id="reason">{{.Message}}</p>
<p><a href="/auth/login">Try again</a></p>
</section>{{end}}

{{define "sessions"}}<section id="sessions">
<p>Browsers signed in as <code>{{.User}}</code>. Ending a session signs that browser out.</p>
<table class="table"><thead><tr><th>Signed in</th><th>Last seen</th><th>Expires</th><th>Provider</th><th>Address</th><th>Browser</th><th></th></tr></thead><tbody>
{{range .Sessions}}<tr id="session-{{.ID}}"><td>{{.CreatedAt.Format "2006-01-02 15:04"}}</td><td>{{.LastSeenAt.Format "2006-01-02 15:04"}}</td>
<td>{{.ExpiresAt.Format "2006-01-02 15:04"}}</td><td>{{.Provider}}</td><td>{{.IP}}</td><td>{{.UserAgent}}</td>
<td>{{if .Current}}this browser{{end}}
<form method="post" action="/settings/sessions/{{.ID}}/revoke"><input type="hidden" name="csrf_token" value="{{$.CSRF}}"><button type="submit">End</button></form></td></tr>
{{else}}<tr><td colspan="7">No signed-in sessions{{if .Development}} (development mode has none){{end}}.</td></tr>{{end}}
</tbody></table>
<form method="post" action="/auth/logout"><input type="hidden" name="csrf_token" value="{{.CSRF}}"><button type="submit" id="sign-out">Sign out</button></form>
</section>{{end}}

{{define "tokens"}}<section id="tokens">
{{if .Created}}<div class="notice" id="new-token"><p>Your new token <strong>{{.Created.Token.Name}}</strong> — copy it now, it is shown only once:</p>
<pre><code id="token-secret">{{.Created.Secret}}</code></pre>
<p>Use it as <code>Authorization: Bearer &lt;token&gt;</code>.</p></div>{{end}}
{{if .Error}}<p class="error" id="token-error">{{.Error}}</p>{{end}}
<p>Personal access tokens act as <code>{{.User}}</code> for scripts and tools.</p>
<table class="table"><thead><tr><th>Name</th><th>Id</th><th>Scopes</th><th>Created</th><th>Expires</th><th>Last used</th><th></th></tr></thead><tbody>
{{range .Tokens}}<tr id="token-{{.ID}}"><td>{{.Name}}</td><td><code>{{.ID}}</code></td><td>{{if .Scopes}}{{range .Scopes}}<code>{{.}}</code> {{end}}{{else}}all{{end}}</td>
<td>{{.CreatedAt.Format "2006-01-02"}}</td><td>{{if .ExpiresAt.IsZero}}never{{else}}{{.ExpiresAt.Format "2006-01-02"}}{{end}}</td>
<td>{{if .LastUsedAt.IsZero}}never{{else}}{{.LastUsedAt.Format "2006-01-02 15:04"}}{{end}}</td>
<td><form method="post" action="/settings/tokens/{{.ID}}/revoke"><input type="hidden" name="csrf_token" value="{{$.CSRF}}"><button type="submit">Revoke</button></form></td></tr>
{{else}}<tr><td colspan="7">No tokens.</td></tr>{{end}}
</tbody></table>
<h2>New token</h2>
<form method="post" action="/settings/tokens" id="create-token"><input type="hidden" name="csrf_token" value="{{.CSRF}}">
<label>Name <input name="name" id="token-name" required maxlength="100"></label>
<label>Scopes (space-separated; empty for all) <input name="scopes" id="token-scopes"></label>
<label>Expires in days <input name="expiresInDays" id="token-days" type="number" min="1" value="{{.DefaultDays}}"></label>
<button type="submit" id="token-create">Create token</button>
</form>
</section>{{end}}
`))

var minimalPage = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} · Atrium</title></head>
<body><main><h1>{{.Title}}</h1>{{.Body}}</main></body></html>`))

// render writes an authentication page through the portal's layout.
func (a *Authenticator) render(w http.ResponseWriter, r *http.Request, title, name string, data any, status int) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		web.WriteError(w, r, fault.Wrap(fault.Internal, err, "rendering %s", name))
		return
	}
	page := Page{Title: title, Body: template.HTML(buf.String()), Status: status} //nolint:gosec // html/template output
	if a.p.Render != nil {
		a.p.Render(w, r, page)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_ = minimalPage.Execute(w, page)
}

func (a *Authenticator) csrf(r *http.Request) string {
	if a.p.CSRFToken == nil {
		return web.CSRFToken(r)
	}
	return a.p.CSRFToken(r)
}

type providerLink struct{ ID, Title string }

// loginPage lists the sign-in providers (or explains development mode).
func (a *Authenticator) loginPage(w http.ResponseWriter, r *http.Request) {
	redirect := localRedirect(r.URL.Query().Get("redirect"))
	data := struct {
		Development bool
		DevUser     string
		Providers   []providerLink
		Redirect    string
		SignedOut   bool
	}{Development: a.Development(), DevUser: a.p.Auth.DevelopmentUser, Redirect: redirect,
		SignedOut: r.URL.Query().Get("signedOut") != ""}
	for _, id := range a.order {
		data.Providers = append(data.Providers, providerLink{ID: id, Title: a.providers[id].cfg.Title})
	}
	w.Header().Set("Cache-Control", "no-store")
	a.render(w, r, "Sign in", "login", data, 0)
}

// signInFailed explains a failed sign-in on a page.
func (a *Authenticator) signInFailed(w http.ResponseWriter, r *http.Request, err error) {
	fe := web.Classify(err)
	status := web.StatusOf(fe.Kind)
	if status >= 500 {
		web.Logger(r.Context()).ErrorContext(r.Context(), "sign-in failed", "error", err.Error())
	}
	a.audit(r.Context(), AuditEvent{Action: "auth.signin", Resource: "provider:" + r.PathValue("provider"), Succeeded: false,
		Details: map[string]any{"reason": fe.Message}})
	a.render(w, r, "Sign-in failed", "failed", struct{ Message string }{fe.Message}, status)
}

func (a *Authenticator) sessionsPage(w http.ResponseWriter, r *http.Request) {
	p, err := userPrincipal(r)
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	list, err := a.sessionsOf(r.Context(), p)
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	a.render(w, r, "Sessions", "sessions", struct {
		User        string
		Sessions    []sessionView
		Development bool
		CSRF        string
	}{p.Ref, list, p.Via == ViaDevelopment, a.csrf(r)}, 0)
}

func (a *Authenticator) sessionsRevokeForm(w http.ResponseWriter, r *http.Request) {
	if err := a.endSessionFor(r, r.PathValue("id")); err != nil {
		web.WriteError(w, r, err)
		return
	}
	http.Redirect(w, r, "/settings/sessions", http.StatusSeeOther)
}

func (a *Authenticator) tokensPage(w http.ResponseWriter, r *http.Request) {
	a.renderTokens(w, r, nil, "", 0)
}

func (a *Authenticator) renderTokens(w http.ResponseWriter, r *http.Request, created *CreatedToken, msg string, status int) {
	p, err := userPrincipal(r)
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	list, err := a.ListTokens(r.Context(), store.TokenListParams{Subject: p.Ref, Kind: store.TokenPersonal})
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	// A page that shows a secret must not be cached anywhere.
	w.Header().Set("Cache-Control", "no-store")
	a.render(w, r, "API tokens", "tokens", struct {
		User        string
		Tokens      []store.Token
		Created     *CreatedToken
		Error       string
		DefaultDays int
		CSRF        string
	}{p.Ref, list, created, msg, int(a.p.Auth.Tokens.DefaultLifetime.Hours() / 24), a.csrf(r)}, status)
}

func (a *Authenticator) tokensCreateForm(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		web.WriteError(w, r, fault.Wrap(fault.Invalid, err, "the form could not be read"))
		return
	}
	req := createTokenRequest{Name: r.PostForm.Get("name"), Scopes: strings.Fields(r.PostForm.Get("scopes"))}
	if d := strings.TrimSpace(r.PostForm.Get("expiresInDays")); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n <= 0 {
			a.renderTokens(w, r, nil, "Expires in days must be a whole number above zero.", http.StatusBadRequest)
			return
		}
		req.ExpiresInDays = n
	}
	created, err := a.createFor(r, req)
	if err != nil {
		fe := web.Classify(err)
		if fe.Kind == fault.Invalid {
			a.renderTokens(w, r, nil, fe.Message, http.StatusBadRequest)
			return
		}
		web.WriteError(w, r, err)
		return
	}
	a.renderTokens(w, r, created, "", http.StatusCreated)
}

func (a *Authenticator) tokensRevokeForm(w http.ResponseWriter, r *http.Request) {
	if err := a.revokeFor(r, r.PathValue("id")); err != nil {
		web.WriteError(w, r, err)
		return
	}
	http.Redirect(w, r, "/settings/tokens", http.StatusSeeOther)
}
