package auth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/atrium-portal/atrium/internal/store"
)

var jane = &mockoidc.MockUser{Subject: "u-jane", Email: "jane@example.test", PreferredUsername: "jdoe"}

func TestSignInOIDC(t *testing.T) {
	m := startOIDC(t)
	s := startAtrium(t, providerYAML(m, ""))
	c := browser(t)

	status, body := signIn(t, c, s.URL, m, jane)
	if status != 200 || !strings.Contains(string(body), `"name":"jane"`) {
		t.Fatalf("sign-in: got %d %s, want 200 and jane's entity", status, body)
	}
	status, who := whoami(t, c, s.URL, "")
	if status != 200 {
		t.Fatalf("userinfo: got %d, want 200", status)
	}
	if who.Claims.Sub != "user:default/jane" || who.Via != "session" {
		t.Errorf("principal: got %s via %s, want user:default/jane via session", who.Claims.Sub, who.Via)
	}
	want := []string{"user:default/jane", "group:default/dept", "group:default/org", "group:default/team-a"}
	if !slices.Equal(who.Claims.Ent, want) {
		t.Errorf("ownership: got %v, want %v (transitive through childOf)", who.Claims.Ent, want)
	}

	// The session cookie is HttpOnly, SameSite=Lax, host-wide; not Secure over http.
	u := s.URL + "/"
	req, _ := http.NewRequest("GET", u, nil)
	var sess *http.Cookie
	for _, ck := range c.Jar.Cookies(req.URL) {
		if ck.Name == "atrium_session" {
			sess = ck
		}
	}
	if sess == nil || len(sess.Value) < 40 {
		t.Fatalf("session cookie: got %+v, want a 256-bit random value", sess)
	}

	var list struct {
		Items []struct {
			ID      string `json:"id"`
			Current bool   `json:"current"`
		} `json:"items"`
	}
	status, body = call(t, c, "GET", s.URL+"/api/auth/sessions", "", "")
	if err := json.Unmarshal(body, &list); status != 200 || err != nil || len(list.Items) != 1 || !list.Items[0].Current {
		t.Fatalf("sessions: got %d %s, want one current session", status, body)
	}

	// Sign out: the session is gone server-side, not only in the browser.
	status, _ = postForm(t, c, s.URL, "/settings/sessions", "/auth/logout", nil)
	if status != http.StatusSeeOther {
		t.Fatalf("logout: got %d, want 303", status)
	}
	if status, _ := whoami(t, c, s.URL, ""); status != 401 {
		t.Errorf("after logout: got %d, want 401", status)
	}
	replay := browser(t)
	replay.Jar.SetCookies(req.URL, []*http.Cookie{{Name: "atrium_session", Value: sess.Value}})
	if status, _ := whoami(t, replay, s.URL, ""); status != 401 {
		t.Errorf("replayed cookie after logout: got %d, want 401", status)
	}
	if strings.Contains(s.Logs.String(), sess.Value) {
		t.Errorf("the session secret appears in the logs")
	}
}

func TestSignInResolvers(t *testing.T) {
	tests := []struct {
		name     string
		authYAML string
		user     *mockoidc.MockUser
		status   int
		wantSub  string
		wantText string
	}{
		{"email matches profile", "", &mockoidc.MockUser{Subject: "1", Email: "JOE@example.test"}, 200, "user:default/joe", ""},
		{"preferred username", "", &mockoidc.MockUser{Subject: "2", Email: "other@elsewhere.test", PreferredUsername: "jane"}, 200, "user:default/jane", ""},
		{"unknown user denied", "", &mockoidc.MockUser{Subject: "3", Email: "mallory@example.test", PreferredUsername: "mallory"}, 403, "",
			"no User entity for mallory@example.test"},
		{"unknown user as guest", "  unknownUsers: guest\n", &mockoidc.MockUser{Subject: "4", Email: "mallory@example.test"}, 200, "user:default/guest", ""},
		{"email local part, allowed domain", "        signIn:\n          resolvers:\n            - { resolver: emailLocalPartMatchingUserEntityName, allowedDomains: [corp.test] }\n",
			&mockoidc.MockUser{Subject: "5", Email: "jane@corp.test"}, 200, "user:default/jane", ""},
		{"email local part, other domain", "        signIn:\n          resolvers:\n            - { resolver: emailLocalPartMatchingUserEntityName, allowedDomains: [corp.test] }\n",
			&mockoidc.MockUser{Subject: "6", Email: "jane@evil.test"}, 403, "", "no User entity"},
		{"claim to annotation", "        signIn:\n          resolvers:\n            - { resolver: claimMatchingUserEntityAnnotation, claim: sub, annotation: keycloak.org/id }\n",
			&mockoidc.MockUser{Subject: "kc-jane", Email: "x@y.test"}, 200, "user:default/jane", ""},
		{"dangerously allow unknown", "        signIn:\n          resolvers:\n            - { resolver: usernameMatchingUserEntityName, dangerouslyAllowSignInWithoutUserInCatalog: true }\n",
			&mockoidc.MockUser{Subject: "7", PreferredUsername: "newbie"}, 200, "user:default/newbie", ""},
	}
	m := startOIDC(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			authYAML := tt.authYAML
			providerExtra := ""
			if strings.HasPrefix(authYAML, "        ") {
				providerExtra, authYAML = authYAML, ""
			}
			s := startAtrium(t, providerYAML(m, providerExtra)+authYAML)
			c := browser(t)
			m.QueueUser(tt.user)
			status, body := call(t, c, "GET", s.URL+"/api/auth/oidc/start?redirect=/healthz", "", "")
			if status != tt.status {
				t.Fatalf("sign-in: got %d %s, want %d", status, body, tt.status)
			}
			if tt.wantText != "" && !strings.Contains(string(body), tt.wantText) {
				t.Errorf("page: got %s, want it to say %q", body, tt.wantText)
			}
			st, who := whoami(t, c, s.URL, "")
			switch {
			case tt.wantSub == "" && st != 401:
				t.Errorf("after refused sign-in: got %d, want 401", st)
			case tt.wantSub != "" && who.Claims.Sub != tt.wantSub:
				t.Errorf("principal: got %q (%d), want %q", who.Claims.Sub, st, tt.wantSub)
			}
		})
	}
}

func TestSignInStateChecks(t *testing.T) {
	m := startOIDC(t)
	s := startAtrium(t, providerYAML(m, ""))

	// The callback without the browser's login cookie is refused.
	status, body := call(t, browser(t), "GET", s.URL+"/api/auth/oidc/handler/frame?code=x&state=y", "", "")
	if status != 401 || !strings.Contains(string(body), "not started in this browser") {
		t.Errorf("foreign state: got %d %s, want 401", status, body)
	}

	// Stop at the provider's redirect back, then use the callback twice.
	c := browser(t)
	m.QueueUser(jane)
	nr := noRedirects(c)
	resp, err := nr.Get(s.URL + "/api/auth/oidc/start")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	authURL := resp.Header.Get("Location")
	for _, want := range []string{"code_challenge_method=S256", "code_challenge=", "nonce=", "state="} {
		if !strings.Contains(authURL, want) {
			t.Errorf("authorization URL %s lacks %s", authURL, want)
		}
	}
	resp, err = nr.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	callback := resp.Header.Get("Location")
	if status, _ := call(t, nr, "GET", callback, "", ""); status != http.StatusSeeOther {
		t.Fatalf("callback: got %d, want 303", status)
	}
	// The same state again (a replayed callback) fails even with the cookie back.
	u, _ := http.NewRequest("GET", s.URL+"/api/auth/", nil)
	state := callback[strings.Index(callback, "state=")+len("state="):]
	if i := strings.IndexByte(state, '&'); i >= 0 {
		state = state[:i]
	}
	c.Jar.SetCookies(u.URL, []*http.Cookie{{Name: "atrium_login", Value: state, Path: "/api/auth/"}})
	if status, body := call(t, nr, "GET", callback, "", ""); status != 401 || !strings.Contains(string(body), "already used") {
		t.Errorf("replayed callback: got %d %s, want 401", status, body)
	}
	// Unknown providers and provider errors are explained.
	if status, _ := call(t, c, "GET", s.URL+"/api/auth/nope/start", "", ""); status != 404 {
		t.Errorf("unknown provider: got %d, want 404", status)
	}
}

func TestSignInAudited(t *testing.T) {
	m := startOIDC(t)
	s := startAtrium(t, providerYAML(m, ""))
	if status, body := signIn(t, browser(t), s.URL, m, jane); status != 200 {
		t.Fatalf("sign-in: got %d %s", status, body)
	}
	m.QueueUser(&mockoidc.MockUser{Subject: "x", Email: "nobody@example.test"})
	if status, _ := call(t, browser(t), "GET", s.URL+"/api/auth/oidc/start", "", ""); status != 403 {
		t.Fatalf("unknown user: got %d, want 403", status)
	}
	list, err := s.App.Store().AuditList(context.Background(), store.AuditListParams{Action: "auth.signin", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range list {
		got = append(got, r.Outcome+" "+r.Resource)
	}
	want := []string{"denied provider:oidc", "succeeded user:default/jane"}
	if !slices.Equal(got, want) {
		t.Errorf("audit records: got %v, want %v (newest first)", got, want)
	}
}
