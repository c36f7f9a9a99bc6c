package secrets

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

func key(id string, b byte) Key { return Key{ID: id, Key: bytes.Repeat([]byte{b}, 32)} }

func TestBoxRoundTripAndRotation(t *testing.T) {
	ctx := context.Background()
	old, err := NewBox([]Key{key("k1", 1)})
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := old.Seal([]byte("glpat-secret-token"), []byte("row-1"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "glpat") || !strings.HasPrefix(sealed, "v1:k1:") {
		t.Fatalf("sealed: got %q, want v1:k1:<ciphertext>", sealed)
	}
	pt, err := old.Open(sealed, []byte("row-1"))
	if err != nil || string(pt) != "glpat-secret-token" {
		t.Fatalf("Open: got %q, %v", pt, err)
	}
	if _, err := old.Open(sealed, []byte("row-2")); err == nil {
		t.Error("Open with another row's associated data: got nil error")
	}
	tampered := sealed[:len(sealed)-2] + "AA"
	if _, err := old.Open(tampered, []byte("row-1")); err == nil {
		t.Error("Open of an altered value: got nil error")
	}
	if _, err := old.Open("plain", nil); !errors.Is(err, ErrNotSealed) {
		t.Errorf("Open of plain text: got %v, want ErrNotSealed", err)
	}

	// A second key is added: it encrypts, both decrypt.
	both, err := NewBox([]Key{key("k1", 1), key("k2", 2)})
	if err != nil {
		t.Fatal(err)
	}
	if both.CurrentKey() != "k2" || !both.NeedsRotation(sealed) {
		t.Fatalf("current %q, needs rotation %v; want k2 and true", both.CurrentKey(), both.NeedsRotation(sealed))
	}
	st := &memRotatable{rows: map[string]Sealed{"row-1": {ID: "row-1", AAD: []byte("row-1"), Value: sealed}}}
	fresh, _ := both.Seal([]byte("already new"), []byte("row-2"))
	st.rows["row-2"] = Sealed{ID: "row-2", AAD: []byte("row-2"), Value: fresh}
	rep, err := Rotate(ctx, both, []Rotatable{st})
	if err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	if rep[0].Resealed != 1 || rep[0].Skipped != 1 {
		t.Errorf("report: got %+v, want 1 resealed, 1 skipped", rep[0])
	}
	// The old key can now go.
	onlyNew, _ := NewBox([]Key{key("k2", 2)})
	for id, row := range st.rows {
		if _, err := onlyNew.Open(row.Value, row.AAD); err != nil {
			t.Errorf("%s after rotation does not open with k2 alone: %v", id, err)
		}
	}
	if _, err := onlyNew.Open(sealed, []byte("row-1")); err == nil {
		t.Error("a value sealed with the removed key opened")
	}
}

type memRotatable struct{ rows map[string]Sealed }

func (m *memRotatable) Name() string { return "test rows" }
func (m *memRotatable) SealedScan(_ context.Context, fn func(Sealed) error) error {
	for _, r := range m.rows {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}
func (m *memRotatable) SealedUpdate(_ context.Context, id, old, new string) error {
	r := m.rows[id]
	if r.Value != old {
		return fmt.Errorf("row %s changed", id)
	}
	r.Value = new
	m.rows[id] = r
	return nil
}

func TestNewBoxErrors(t *testing.T) {
	for _, keys := range [][]Key{nil, {{ID: "a", Key: []byte("short")}}, {{ID: "", Key: make([]byte, 32)}}, {{ID: "a:b", Key: make([]byte, 32)}}} {
		if _, err := NewBox(keys); err == nil {
			t.Errorf("NewBox(%d keys): got nil error", len(keys))
		}
	}
}

func TestRedactionInLogs(t *testing.T) {
	var reg Registry
	reg.Add("hunter2-password", "tok", "glpat-abcdefghijklmnopqrst")
	var buf bytes.Buffer
	log := slog.New(reg.Handler(slog.NewJSONHandler(&buf, nil)))
	log.With("dsn", "postgres://u:hunter2-password@db/x").Info("connecting with hunter2-password",
		"error", errors.New("auth failed for token glpat-abcdefghijklmnopqrst"),
		slog.Group("g", "inner", "x hunter2-password y"),
		"list", []string{"glpat-abcdefghijklmnopqrst"},
		"short", "tok is not redacted (too short)")
	out := buf.String()
	for _, secret := range []string{"hunter2-password", "glpat-abcdefghijklmnopqrst"} {
		if strings.Contains(out, secret) {
			t.Errorf("log output contains %q: %s", secret, out)
		}
	}
	if got := strings.Count(out, Mask); got != 5 {
		t.Errorf("masks: got %d, want 5 in %s", got, out)
	}
	if !strings.Contains(out, "tok is not redacted") {
		t.Errorf("short values must stay: %s", out)
	}
	// Longest first: a secret containing another is masked whole.
	reg.Add("hunter2-password-extended")
	if got := reg.Redact("x hunter2-password-extended"); got != "x "+Mask {
		t.Errorf("Redact: got %q, want %q", got, "x "+Mask)
	}
}

// TestRedactionPassThrough covers the handler's shortcut for records
// without a secret: they reach the next handler exactly as a plain
// handler would write them, and a secret in any one attribute (the
// message clean) still rebuilds the record.
func TestRedactionPassThrough(t *testing.T) {
	var reg Registry
	reg.Add("hunter2-password")
	type mk func(*bytes.Buffer) slog.Handler
	plain := func(buf *bytes.Buffer) slog.Handler {
		return slog.NewJSONHandler(buf, &slog.HandlerOptions{ReplaceAttr: dropTime})
	}
	redacted := func(buf *bytes.Buffer) slog.Handler { return reg.Handler(plain(buf)) }
	log := func(h mk, attrs ...slog.Attr) string {
		var buf bytes.Buffer
		slog.New(h(&buf)).LogAttrs(context.Background(), slog.LevelInfo, "http", attrs...)
		return buf.String()
	}
	clean := []slog.Attr{
		slog.String("request_id", "abc"), slog.String("method", "GET"), slog.String("path", "/api/x"),
		slog.Int("status", 200), slog.Int64("bytes", 12), slog.Float64("ms", 0.25), slog.String("remote", "127.0.0.1:1"),
	}
	if got, want := log(redacted, clean...), log(plain, clean...); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	for i := range clean {
		attrs := append([]slog.Attr(nil), clean...)
		attrs[i] = slog.String(attrs[i].Key, "x hunter2-password y")
		if got := log(redacted, attrs...); strings.Contains(got, "hunter2-password") || !strings.Contains(got, Mask) {
			t.Errorf("attribute %d: got %s, want it masked", i, got)
		}
	}
	if got := log(redacted, slog.Any("error", errors.New("e hunter2-password"))); strings.Contains(got, "hunter2-password") {
		t.Errorf("error attribute: got %s, want it masked", got)
	}
}

func dropTime(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

// kvServer is a stand-in for Vault's KV v2 HTTP API on 127.0.0.1.
func kvServer(t *testing.T, token string, data *atomic.Value) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Vault-Token") != token {
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"errors":["permission denied"]}`))
			return
		}
		if r.Method != http.MethodGet || r.URL.Path != "/v1/secret/data/atrium/db" {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"errors":[]}`))
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"data": map[string]any{
				"data":     data.Load(),
				"metadata": map[string]any{"version": 3, "created_time": "2026-03-01T10:00:00Z", "deletion_time": "", "destroyed": false},
			},
		})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestVaultKV2(t *testing.T) {
	var data atomic.Value
	data.Store(map[string]any{"password": "vault-db-pass-1"})
	srv := kvServer(t, "root-token", &data)
	v, err := NewVault(VaultConfig{Address: srv.URL, Token: "root-token"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	got, err := v.Get(ctx, "secret/atrium/db#password")
	if err != nil || got != "vault-db-pass-1" {
		t.Fatalf("Get: got %q, %v; want vault-db-pass-1", got, err)
	}
	for _, tt := range []struct{ ref, want string }{
		{"secret/atrium/db#nokey", `has no key "nokey"`},
		{"secret/atrium/other#password", "reading secret/atrium/other: secret not found"},
		{"no-key-part", "must look like MOUNT/PATH#KEY"},
	} {
		if _, err := v.Get(ctx, tt.ref); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Get(%q): got %v, want an error containing %q", tt.ref, err, tt.want)
		}
	}
	bad, _ := NewVault(VaultConfig{Address: srv.URL, Token: "wrong"})
	if _, err := bad.Get(ctx, "secret/atrium/db#password"); err == nil {
		t.Error("Get with a wrong token: got nil error")
	}

	// Rotation: the refresher sees the new value, registers it for
	// redaction and calls back.
	var reg Registry
	var rotated []string
	ref := Ref{Key: "backend.database.connection.password", Kind: "vault", Ref: "secret/atrium/db#password"}
	f := &Refresher{Refs: []Ref{ref}, Resolve: NewResolver(nil, v), Registry: &reg,
		OnChange: func(r Ref, _, value string) { rotated = append(rotated, r.Key+"="+value) }}
	f.Prime(map[Ref]string{ref: "vault-db-pass-1"})
	if n := f.RefreshOnce(ctx); n != 0 {
		t.Errorf("unchanged refresh: got %d changes, want 0", n)
	}
	data.Store(map[string]any{"password": "vault-db-pass-2"})
	if n := f.RefreshOnce(ctx); n != 1 {
		t.Errorf("rotated refresh: got %d changes, want 1", n)
	}
	if got, want := strings.Join(rotated, ","), "backend.database.connection.password=vault-db-pass-2"; got != want {
		t.Errorf("OnChange: got %q, want %q", got, want)
	}
	if got := reg.Redact("pw vault-db-pass-2"); got != "pw "+Mask {
		t.Errorf("new value not redacted: %q", got)
	}
}

func TestScanText(t *testing.T) {
	yaml := `backend:
  auth:
    externalAccess:
      - type: static
        options:
          token: Zx81kQp0vLm2Rt7sYw4B   # literal, random
          subject: ci
  database:
    connection: postgres://atrium:s3cr3tpw@db:5432/atrium
integrations:
  gitlab:
    - host: gitlab.com
      token: glpat-aaaaaaaaaaaaaaaaaaaaaaaa
auth:
  providers:
    oidc:
      production:
        clientSecret: ${env:OIDC_SECRET}
        password: changeme
`
	got := ScanText("app-config.yaml", []byte(yaml))
	var lines []string
	for _, f := range got {
		lines = append(lines, fmt.Sprintf("%d:%s", f.Line, f.Key))
		if s := f.String(); strings.Contains(s, "Zx81kQp0") || strings.Contains(s, "s3cr3tpw") || strings.Contains(s, "glpat-") {
			t.Errorf("finding echoes the value: %s", s)
		}
	}
	if got, want := strings.Join(lines, " "), "6:token 9:connection 13:token"; got != want {
		t.Errorf("findings: got %q, want %q", got, want)
	}
}

func TestScanConfigFilesOnlyTracked(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	dir := t.TempDir()
	gitRun := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	gitRun("init", "-q")
	content := []byte("token: glpat-aaaaaaaaaaaaaaaaaaaaaaaa\n")
	tracked, untracked := filepath.Join(dir, "tracked.yaml"), filepath.Join(dir, "local.yaml")
	for _, f := range []string{tracked, untracked} {
		if err := os.WriteFile(f, content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	gitRun("add", "tracked.yaml")
	got := ScanConfigFiles(context.Background(), []string{tracked, untracked})
	if len(got) != 1 || got[0].File != tracked {
		t.Errorf("findings: got %+v, want one in %s", got, tracked)
	}
}

func TestLiveRotate(t *testing.T) {
	var l Live
	pw := l.Track("s3cret-one")
	dsn := l.Track("postgres://atrium:s3cret-one@db:5432/atrium")
	other := l.Track("unrelated")
	if got := l.Rotate("s3cret-one", "s3cret-two"); got != 2 {
		t.Errorf("Rotate: got %d values changed, want 2", got)
	}
	if got, want := pw.Get(), "s3cret-two"; got != want {
		t.Errorf("password: got %q, want %q", got, want)
	}
	if got, want := dsn.Get(), "postgres://atrium:s3cret-two@db:5432/atrium"; got != want {
		t.Errorf("connection: got %q, want %q", got, want)
	}
	if got, want := other.Get(), "unrelated"; got != want {
		t.Errorf("unrelated value: got %q, want %q", got, want)
	}
	if got := l.Rotate("", "x"); got != 0 {
		t.Errorf("Rotate of an empty secret: got %d, want 0", got)
	}
	if s := fmt.Sprint(pw); strings.Contains(s, "s3cret") {
		t.Errorf("a Value prints its secret: %s", s)
	}
}
