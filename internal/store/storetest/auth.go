package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
)

// authTests are the AuthStore behaviours, run by Run.
var authTests = []struct {
	name string
	fn   func(t *testing.T, d store.Driver)
}{
	{"AuthSessions", testAuthSessions},
	{"AuthSessionExpiry", testAuthSessionExpiry},
	{"AuthLogins", testAuthLogins},
	{"AuthTokens", testAuthTokens},
}

// authAt is a fixed base time, truncated to what both engines store.
var authAt = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func testAuthSessions(t *testing.T, d store.Driver) {
	ctx := context.Background()
	s1 := store.Session{ID: "s1", Hash: "h1", UserRef: "user:default/jane", Provider: "oidc",
		Identity: []byte(`{"ownership":["group:default/a"]}`), IP: "10.0.0.1", UserAgent: "test",
		CreatedAt: authAt, LastSeenAt: authAt, ExpiresAt: authAt.Add(8 * time.Hour)}
	s2 := s1
	s2.ID, s2.Hash, s2.CreatedAt = "s2", "h2", authAt.Add(time.Minute)
	other := s1
	other.ID, other.Hash, other.UserRef = "s3", "h3", "user:default/joe"
	for _, s := range []store.Session{s1, s2, other} {
		if err := d.SessionCreate(ctx, s); err != nil {
			t.Fatalf("SessionCreate(%s): %v", s.ID, err)
		}
	}
	wantKind(t, d.SessionCreate(ctx, s1), fault.Conflict)

	got, err := d.SessionGet(ctx, "h1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "s1" || got.UserRef != s1.UserRef || string(got.Identity) != string(s1.Identity) ||
		!got.ExpiresAt.Equal(s1.ExpiresAt) || !got.CreatedAt.Equal(authAt) || got.IP != "10.0.0.1" || got.UserAgent != "test" {
		t.Fatalf("SessionGet: got %+v, want %+v", got, s1)
	}
	_, err = d.SessionGet(ctx, "nope")
	wantKind(t, err, fault.NotFound)

	if err := d.SessionTouch(ctx, "h1", authAt.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, _ := d.SessionGet(ctx, "h1"); !got.LastSeenAt.Equal(authAt.Add(time.Hour)) {
		t.Fatalf("LastSeenAt: got %v, want %v", got.LastSeenAt, authAt.Add(time.Hour))
	}

	list, err := d.SessionList(ctx, "user:default/jane")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range list {
		ids = append(ids, s.ID)
	}
	if want := []string{"s2", "s1"}; !slices.Equal(ids, want) {
		t.Fatalf("SessionList: got %v, want %v", ids, want)
	}

	// Another user cannot delete jane's session by id.
	wantKind(t, d.SessionDelete(ctx, store.SessionDeleteParams{ID: "s1", UserRef: "user:default/joe"}), fault.NotFound)
	if err := d.SessionDelete(ctx, store.SessionDeleteParams{ID: "s1", UserRef: "user:default/jane"}); err != nil {
		t.Fatal(err)
	}
	if err := d.SessionDelete(ctx, store.SessionDeleteParams{Hash: "h2"}); err != nil {
		t.Fatal(err)
	}
	wantKind(t, d.SessionDelete(ctx, store.SessionDeleteParams{Hash: "h2"}), fault.NotFound)
	wantKind(t, d.SessionDelete(ctx, store.SessionDeleteParams{}), fault.Invalid)
	if list, _ := d.SessionList(ctx, "user:default/jane"); len(list) != 0 {
		t.Fatalf("after delete: got %d sessions, want 0", len(list))
	}
}

func testAuthSessionExpiry(t *testing.T, d store.Driver) {
	ctx := context.Background()
	mk := func(id string, seen, expires time.Time) store.Session {
		return store.Session{ID: id, Hash: "hash-" + id, UserRef: "user:default/jane", Provider: "oidc",
			CreatedAt: authAt, LastSeenAt: seen, ExpiresAt: expires}
	}
	for _, s := range []store.Session{
		mk("live", authAt.Add(50*time.Minute), authAt.Add(2*time.Hour)),
		mk("idle", authAt.Add(10*time.Minute), authAt.Add(2*time.Hour)),
		mk("expired", authAt.Add(50*time.Minute), authAt.Add(time.Hour)),
	} {
		if err := d.SessionCreate(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.LoginCreate(ctx, store.Login{Hash: "old", Provider: "oidc", ExpiresAt: authAt}); err != nil {
		t.Fatal(err)
	}
	n, err := d.SessionDeleteExpired(ctx, store.SessionExpireParams{Now: authAt.Add(time.Hour), IdleBefore: authAt.Add(30 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("deleted: got %d, want 2", n)
	}
	list, _ := d.SessionList(ctx, "user:default/jane")
	if len(list) != 1 || list[0].ID != "live" {
		t.Fatalf("remaining: got %+v, want only live", list)
	}
	_, err = d.LoginTake(ctx, "old", authAt.Add(-time.Hour))
	wantKind(t, err, fault.NotFound)
}

func testAuthLogins(t *testing.T, d store.Driver) {
	ctx := context.Background()
	l := store.Login{Hash: "st", Provider: "keycloak", Nonce: "n", Verifier: "v", Redirect: "/catalog", ExpiresAt: authAt.Add(10 * time.Minute)}
	if err := d.LoginCreate(ctx, l); err != nil {
		t.Fatal(err)
	}
	got, err := d.LoginTake(ctx, "st", authAt)
	if err != nil {
		t.Fatal(err)
	}
	if got.Provider != l.Provider || got.Nonce != l.Nonce || got.Verifier != l.Verifier || got.Redirect != l.Redirect {
		t.Fatalf("LoginTake: got %+v, want %+v", got, l)
	}
	_, err = d.LoginTake(ctx, "st", authAt)
	wantKind(t, err, fault.NotFound) // used once

	l.Hash = "late"
	if err := d.LoginCreate(ctx, l); err != nil {
		t.Fatal(err)
	}
	_, err = d.LoginTake(ctx, "late", authAt.Add(time.Hour))
	wantKind(t, err, fault.NotFound) // expired
	_, err = d.LoginTake(ctx, "late", authAt)
	wantKind(t, err, fault.NotFound) // and gone
}

func testAuthTokens(t *testing.T, d store.Driver) {
	ctx := context.Background()
	pat := store.Token{ID: "t1", Hash: "th1", Kind: store.TokenPersonal, Name: "laptop", Subject: "user:default/jane",
		CreatedBy: "user:default/jane", Scopes: []string{"catalog.entity.read"}, CreatedAt: authAt, ExpiresAt: authAt.Add(24 * time.Hour)}
	svc := store.Token{ID: "t2", Hash: "th2", Kind: store.TokenService, Name: "ci", Subject: "service:ci",
		CreatedBy: "cli", CreatedAt: authAt.Add(time.Minute)}
	pat2 := pat
	pat2.ID, pat2.Hash, pat2.Name, pat2.CreatedAt, pat2.Scopes, pat2.ExpiresAt = "t3", "th3", "desktop", authAt.Add(2*time.Minute), nil, time.Time{}
	for _, tok := range []store.Token{pat, svc, pat2} {
		if err := d.TokenCreate(ctx, tok); err != nil {
			t.Fatalf("TokenCreate(%s): %v", tok.ID, err)
		}
	}
	wantKind(t, d.TokenCreate(ctx, pat), fault.Conflict)
	wantKind(t, d.TokenCreate(ctx, store.Token{ID: "x"}), fault.Invalid)

	got, err := d.TokenGetByHash(ctx, "th1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "t1" || got.Kind != store.TokenPersonal || got.Name != "laptop" || got.Subject != pat.Subject ||
		!slices.Equal(got.Scopes, pat.Scopes) || !got.ExpiresAt.Equal(pat.ExpiresAt) || !got.LastUsedAt.IsZero() || !got.RevokedAt.IsZero() {
		t.Fatalf("TokenGetByHash: got %+v, want %+v", got, pat)
	}
	if got, _ := d.TokenGetByHash(ctx, "th2"); got == nil || !got.ExpiresAt.IsZero() || got.Scopes == nil {
		t.Fatalf("service token: got %+v, want no expiry and empty scopes", got)
	}
	_, err = d.TokenGetByHash(ctx, "nope")
	wantKind(t, err, fault.NotFound)

	if err := d.TokenTouch(ctx, "t1", authAt.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, _ := d.TokenGetByHash(ctx, "th1"); !got.LastUsedAt.Equal(authAt.Add(time.Hour)) {
		t.Fatalf("LastUsedAt: got %v, want %v", got.LastUsedAt, authAt.Add(time.Hour))
	}

	ids := func(p store.TokenListParams) []string {
		t.Helper()
		list, err := d.TokenList(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, tok := range list {
			out = append(out, tok.ID)
		}
		return out
	}
	tests := []struct {
		p    store.TokenListParams
		want []string
	}{
		{store.TokenListParams{}, []string{"t3", "t2", "t1"}},
		{store.TokenListParams{Subject: "user:default/jane"}, []string{"t3", "t1"}},
		{store.TokenListParams{Kind: store.TokenService}, []string{"t2"}},
	}
	for _, tt := range tests {
		if got := ids(tt.p); !slices.Equal(got, tt.want) {
			t.Errorf("TokenList(%+v): got %v, want %v", tt.p, got, tt.want)
		}
	}

	wantKind(t, d.TokenRevoke(ctx, store.TokenRevokeParams{ID: "t1", Subject: "user:default/joe", At: authAt}), fault.NotFound)
	if err := d.TokenRevoke(ctx, store.TokenRevokeParams{ID: "t1", Subject: "user:default/jane", At: authAt.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	wantKind(t, d.TokenRevoke(ctx, store.TokenRevokeParams{ID: "t1", At: authAt}), fault.NotFound) // already revoked
	if got := ids(store.TokenListParams{Subject: "user:default/jane"}); !slices.Equal(got, []string{"t3"}) {
		t.Errorf("after revoke: got %v, want [t3]", got)
	}
	if got := ids(store.TokenListParams{Subject: "user:default/jane", IncludeRevoked: true}); !slices.Equal(got, []string{"t3", "t1"}) {
		t.Errorf("with revoked: got %v, want [t3 t1]", got)
	}
	if got, _ := d.TokenGetByHash(ctx, "th1"); !got.RevokedAt.Equal(authAt.Add(time.Hour)) {
		t.Fatalf("RevokedAt: got %v, want %v", got.RevokedAt, authAt.Add(time.Hour))
	}
}
