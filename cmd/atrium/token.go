package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/atrium-portal/atrium/internal/app"
	"github.com/atrium-portal/atrium/internal/audit"
	"github.com/atrium-portal/atrium/internal/auth"
	"github.com/atrium-portal/atrium/internal/config"
	"github.com/atrium-portal/atrium/internal/store"
)

// token manages API tokens directly in the configured database: the way
// operators create service tokens, and anyone's tokens in an emergency.
func token(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("token needs a subcommand: create, list or revoke")
	}
	fs := newFlagSet("token " + args[0])
	var files, scopes stringList
	fs.Var(&files, "config", "configuration file naming the database (repeatable)")
	user := fs.String("user", "", "create a personal token for this user ref (user:default/jane)")
	service := fs.String("service", "", "create a service token with this name")
	name := fs.String("name", "", "what the token is for")
	fs.Var(&scopes, "scope", "restrict the token to a permission or prefix such as catalog.* (repeatable)")
	expires := fs.String("expires", "", "lifetime: days (30d) or a duration (12h); default auth.tokens.defaultLifetime")
	revoked := fs.Bool("revoked", false, "list: include revoked tokens")
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usagef("token %s needs --config FILE naming the database", args[0])
	}
	withAuth := func(f func(a *auth.Authenticator, ctx context.Context) error) error {
		cfg, err := config.Load(files, config.Environ())
		if err != nil {
			return err
		}
		cfg.Atrium.Demo = false
		logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		a, err := app.New(ctx, cfg, app.Options{Logger: logger, NoServer: true})
		if err != nil {
			return err
		}
		defer a.Close()
		authn, err := auth.New(auth.Params{Store: a.Store(), Catalog: a.Engine(), Auth: cfg.Auth, Logger: logger})
		if err != nil {
			return err
		}
		actx := auth.WithPrincipal(audit.WithLog(ctx, audit.New(audit.Params{Store: a.Store(), Logger: logger})),
			&auth.Principal{Type: auth.PrincipalService, Ref: "service:atrium-cli", Via: "cli"})
		return f(authn, actx)
	}
	switch args[0] {
	case "create":
		if (*user == "") == (*service == "") {
			return usagef("token create needs exactly one of --user REF or --service NAME")
		}
		if len(pos) > 0 {
			return usagef("token create takes no arguments, got %q", pos)
		}
		life, err := parseLifetime(*expires)
		if err != nil {
			return usagef("--expires: %v", err)
		}
		p := auth.CreateTokenParams{Kind: store.TokenPersonal, Subject: *user, Name: *name, CreatedBy: "cli", Scopes: scopes, Lifetime: life}
		if *service != "" {
			p.Kind, p.Subject = store.TokenService, *service
		}
		return withAuth(func(a *auth.Authenticator, ctx context.Context) error {
			created, err := a.CreateToken(ctx, p)
			if err != nil {
				return err
			}
			if err := audit.Record(ctx, audit.Event{Action: "auth.token.create", Resource: created.Token.ID, Outcome: audit.Succeeded,
				Details: map[string]any{"kind": created.Token.Kind, "subject": created.Token.Subject, "name": created.Token.Name}}); err != nil {
				return fmt.Errorf("the token %s was created but the audit log refused the record: %w", created.Token.ID, err)
			}
			expiry := "never"
			if !created.Token.ExpiresAt.IsZero() {
				expiry = created.Token.ExpiresAt.Format(time.RFC3339)
			}
			fmt.Fprintf(stderr, "created %s for %s (expires %s); the token is shown once:\n", created.Token.ID, created.Token.Subject, expiry)
			fmt.Fprintln(stdout, created.Secret)
			return nil
		})
	case "list":
		if len(pos) > 0 {
			return usagef("token list takes no arguments, got %q", pos)
		}
		lp := store.TokenListParams{Subject: *user, IncludeRevoked: *revoked}
		if *service != "" {
			lp.Subject = "service:" + strings.TrimPrefix(*service, "service:")
		}
		return withAuth(func(a *auth.Authenticator, ctx context.Context) error {
			list, err := a.ListTokens(ctx, lp)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tKIND\tSUBJECT\tNAME\tSCOPES\tEXPIRES\tLAST USED\tREVOKED")
			for _, t := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Kind, t.Subject, t.Name,
					orDash(strings.Join(t.Scopes, " ")), day(t.ExpiresAt), day(t.LastUsedAt), day(t.RevokedAt))
			}
			return tw.Flush()
		})
	case "revoke":
		if len(pos) != 1 {
			return usagef("token revoke needs exactly one token ID")
		}
		return withAuth(func(a *auth.Authenticator, ctx context.Context) error {
			if err := a.RevokeToken(ctx, pos[0], ""); err != nil {
				return err
			}
			if err := audit.Record(ctx, audit.Event{Action: "auth.token.revoke", Resource: pos[0], Outcome: audit.Succeeded}); err != nil {
				return fmt.Errorf("the token %s was revoked but the audit log refused the record: %w", pos[0], err)
			}
			fmt.Fprintf(stdout, "revoked %s\n", pos[0])
			return nil
		})
	}
	return usagef("unknown token subcommand %q (want create, list or revoke)", args[0])
}

// parseLifetime reads "30d" or a Go duration; "" is 0 (the default).
func parseLifetime(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("want a number of days such as 30d, got %q", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("want 30d or a duration such as 12h, got %q", s)
	}
	return d, nil
}

func day(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format("2006-01-02")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
