package apptest

import (
	"context"
	"testing"

	"github.com/atrium-portal/atrium/internal/auth"
	"github.com/atrium-portal/atrium/internal/config"
	"github.com/atrium-portal/atrium/internal/store"
)

// Token creates a personal access token for subject (a user ref such as
// user:default/jane) in the server's database and returns its secret, to
// send as "Authorization: Bearer …".
func (s *Server) Token(t testing.TB, subject string) string {
	t.Helper()
	cfg, err := config.LoadBytes("apptest", []byte("{}"), nil)
	if err != nil {
		t.Fatal(err)
	}
	authn, err := auth.New(auth.Params{Store: s.App.Store(), Catalog: s.App.Engine(), Auth: cfg.Auth})
	if err != nil {
		t.Fatal(err)
	}
	created, err := authn.CreateToken(context.Background(), auth.CreateTokenParams{
		Kind: store.TokenPersonal, Subject: subject, Name: "apptest", CreatedBy: "apptest"})
	if err != nil {
		t.Fatalf("apptest: token for %s: %v", subject, err)
	}
	return created.Secret
}
