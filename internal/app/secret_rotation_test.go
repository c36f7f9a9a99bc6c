package app_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/atrium-portal/atrium/internal/app/apptest"
)

// TestPostgresPasswordRotation runs Atrium as a temporary PostgreSQL role
// whose password comes from a ${file:…} reference, changes the role's
// password and the file, and checks that once the secrets are refreshed
// new connections use the new password, without a restart.
func TestPostgresPasswordRotation(t *testing.T) {
	admin := os.Getenv(apptest.PostgresEnv)
	if admin == "" && os.Getenv("CI") == "" {
		t.Skip(apptest.PostgresEnv + " is not set")
	}
	ctx := context.Background()
	role := "atrium_rot_" + randomHex(t, 4)
	// Registered first, so it runs after the database is dropped.
	t.Cleanup(func() {
		if c, err := pgx.Connect(ctx, admin); err == nil {
			defer c.Close(ctx)
			if _, err := c.Exec(ctx, "DROP ROLE IF EXISTS "+role); err != nil {
				t.Errorf("dropping role %s: %v", role, err)
			}
		}
	})
	dsn := apptest.PostgresDSN(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	dbName := u.Path[1:]
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	exec := func(sql string) {
		t.Helper()
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	first, second := randomHex(t, 16), randomHex(t, 16)
	exec("CREATE ROLE " + role + " LOGIN PASSWORD '" + first + "'")
	exec("ALTER DATABASE " + dbName + " OWNER TO " + role)
	exec("GRANT ALL ON SCHEMA public TO " + role)

	pwFile := filepath.Join(t.TempDir(), "db-password")
	if err := os.WriteFile(pwFile, []byte(first+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conn2 := *u
	conn2.User = nil
	q := conn2.Query()
	q.Set("sslmode", "disable")
	conn2.RawQuery = q.Encode()
	target := "postgres://" + role + ":${file:" + pwFile + "}@" + conn2.Host + conn2.Path + "?" + conn2.RawQuery
	srv := apptest.StartServer(t, "backend:\n  database:\n    client: pg\n    connection: '"+target+"'\n")

	// Each probe asks a question never asked before, so that no read
	// cache can answer it and it needs a database connection.
	probes := 0
	get := func() int {
		t.Helper()
		probes++
		res, err := http.Get(fmt.Sprintf("%s/api/catalog/entities?limit=1&filter=metadata.name=rotation-probe-%d", srv.BaseURL, probes))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := get(); got != 200 {
		t.Fatalf("before rotation: got %d, want 200", got)
	}

	// Rotate: the role's password changes and the open connections end.
	exec("ALTER ROLE " + role + " PASSWORD '" + second + "'")
	if err := os.WriteFile(pwFile, []byte(second+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '" + role + "'")
	failed := false
	for range 5 {
		if get() != 200 {
			failed = true
			break
		}
	}
	if !failed {
		t.Fatal("new connections with the old password still succeed: the test cannot tell rotation apart")
	}

	if got := srv.App.RefreshSecrets(ctx); got != 1 {
		t.Fatalf("RefreshSecrets: got %d changed, want 1", got)
	}
	deadline := time.Now().Add(time.Minute)
	for get() != 200 {
		if time.Now().After(deadline) {
			t.Fatal("new connections do not use the rotated password")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// TestSecretsRefreshEndpoint rotates a static access token held in a
// ${file:…} reference and asks Atrium to re-resolve its secrets through
// POST /api/secrets/refresh: the new token is accepted at once, the old one
// no longer, and the rotation is audited without its value.
func TestSecretsRefreshEndpoint(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "ci-token")
	oldToken, newToken := "ci-token-before-rotation-"+randomHex(t, 8), "ci-token-after-rotation-"+randomHex(t, 8)
	if err := os.WriteFile(tokenFile, []byte(oldToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := apptest.StartServer(t, "backend:\n  auth:\n    externalAccess:\n      - { type: static, options: { token: \"${file:"+tokenFile+"}\", subject: ci } }\n"+
		"atrium:\n  authz: { admins: [user:default/guest] }\n")
	whoami := func(token string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.BaseURL+"/api/auth/v1/userinfo", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := whoami(oldToken); got != 200 {
		t.Fatalf("the token before rotation: got %d, want 200", got)
	}
	if err := os.WriteFile(tokenFile, []byte(newToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := http.Post(srv.BaseURL+"/api/secrets/refresh", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), `"changed":1`) {
		t.Fatalf("refresh: got %d %s, want 200 and one change", res.StatusCode, body)
	}
	if got := whoami(newToken); got != 200 {
		t.Errorf("the rotated token: got %d, want 200", got)
	}
	if got := whoami(oldToken); got != 401 {
		t.Errorf("the replaced token: got %d, want 401", got)
	}
	audit := getBody(t, srv.BaseURL+"/api/audit/events?action=atrium.secret.rotated")
	if !strings.Contains(audit, "backend.auth.externalAccess") || strings.Contains(audit, newToken) || strings.Contains(audit, oldToken) {
		t.Errorf("rotation audit record: got %s, want the key and no token", audit)
	}
}
