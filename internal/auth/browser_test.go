package auth_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"

	"github.com/atrium-portal/atrium/internal/browsertest"
)

func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("body")))
		t.Fatalf("%s: %v (at %s)\n%.2000s", what, err, loc, html)
	}
}

// startZitadel runs the zitadel example OpenID provider, which has a real
// login form, with Atrium registered as a web client at atriumAddr.
func startZitadel(t *testing.T, atriumAddr string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + ln.Addr().String() + "/"
	// The example's client registry is global: register before building
	// the storage, and run this test alone (not in parallel).
	storage.RegisterClients(storage.WebClient("atrium", "atrium-secret", "http://"+atriumAddr+"/api/auth/oidc/handler/frame"))
	st := storage.NewStorage(storage.NewUserStore(issuer))
	router := exampleop.SetupServer(issuer, st, slog.New(slog.NewTextHandler(io.Discard, nil)), false)
	srv := &http.Server{Handler: router, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return issuer
}

// TestBrowserSignIn signs in through real Chromium: the portal sends the
// browser to the identity provider's login form, the person types a user
// name and password, and comes back signed in; then creates an API token
// on the tokens page, sees the session, and signs out.
func TestBrowserSignIn(t *testing.T) {
	ctx := browsertest.New(t, 1280, 900)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := startZitadel(t, ln.Addr().String())
	s := startAtriumOn(t, ln, `auth:
  providers:
    oidc:
      development:
        title: Example SSO
        issuer: `+issuer+`
        clientId: atrium
        clientSecret: atrium-secret
`)

	step(t, ctx, "open a page while signed out", chromedp.Navigate(s.URL+"/catalog"), chromedp.WaitVisible(chromedp.ID("provider-oidc")))
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.Contains(loc, "/auth/login?redirect=%2Fcatalog") {
		t.Errorf("signed out: at %s, want the sign-in page", loc)
	}
	step(t, ctx, "choose the provider", chromedp.Click(chromedp.ID("provider-oidc")), chromedp.WaitVisible(chromedp.ID("username")))
	step(t, ctx, "type the credentials",
		chromedp.SendKeys(chromedp.ID("username"), "test-user@127.0.0.1"),
		chromedp.SendKeys(chromedp.ID("password"), "verysecure"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".user-name")))
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); loc != s.URL+"/catalog" {
		t.Errorf("after sign-in: at %s, want back at /catalog", loc)
	}
	if name, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".user-name"))); name != "Zed Tester" {
		t.Errorf("signed-in user: got %q, want Zed Tester", name)
	}
	if banner, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("dev-banner") !== null`)); banner {
		t.Errorf("the development banner shows with a provider configured")
	}

	step(t, ctx, "create a token", chromedp.Navigate(s.URL+"/settings/tokens"), chromedp.WaitVisible(chromedp.ID("token-name")),
		chromedp.SendKeys(chromedp.ID("token-name"), "from chromium"),
		chromedp.Click(chromedp.ID("token-create")), chromedp.WaitVisible(chromedp.ID("token-secret")))
	secret, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("token-secret")))
	if status, who := whoami(t, http.DefaultClient, s.URL, secret); status != 200 || who.Claims.Sub != "user:default/zed" {
		t.Errorf("token from the page: got %d %+v, want zed", status, who)
	}

	step(t, ctx, "see the session", chromedp.Navigate(s.URL+"/settings/sessions"), chromedp.WaitVisible(chromedp.ID("sessions")))
	rows, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#sessions tbody tr[id^=session-]").length`))
	if rows != 1 {
		t.Errorf("sessions: got %d rows, want 1", rows)
	}

	step(t, ctx, "sign out", chromedp.Click(chromedp.CSS(`form.sign-out button`)), chromedp.WaitVisible(chromedp.ID("signed-out")))
	step(t, ctx, "a page needs sign-in again", chromedp.Navigate(s.URL+"/catalog"), chromedp.WaitVisible(chromedp.ID("provider-oidc")))
	if strings.Contains(s.Logs.String(), secret) {
		t.Errorf("the token appears in the logs")
	}
}
