package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
)

// database is a PostgreSQL database created for one run.
type database struct {
	Name  string
	DSN   string
	admin string
}

// createDatabase creates a fresh database on the server that serverURL
// points at and returns its connection string. Only servers on the
// loopback interface are accepted: the harness never touches anything else.
func createDatabase(ctx context.Context, serverURL string, n int) (*database, error) {
	u, err := url.Parse(serverURL)
	if err != nil {
		return nil, fmt.Errorf("-pg: %w", err)
	}
	if h := u.Hostname(); h != "127.0.0.1" && h != "localhost" && h != "::1" {
		return nil, fmt.Errorf("-pg: host %q is not on the loopback interface", h)
	}
	name := fmt.Sprintf("atrium_bench_%d_%d_%d", n, os.Getpid(), time.Now().Unix())
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", u.Redacted(), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return nil, fmt.Errorf("creating database %s: %w", name, err)
	}
	du := *u
	du.Path = "/" + name
	return &database{Name: name, DSN: du.String(), admin: serverURL}, nil
}

// Drop removes the database, disconnecting anything still connected.
func (d *database) Drop(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, d.admin)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{d.Name}.Sanitize()+" WITH (FORCE)")
	return err
}

// busy reports whether any session other than the caller's own runs a
// statement in the database, or an autovacuum works on it: the index
// builds and the vacuum that follow a bulk load run in PostgreSQL's
// processes, where the server's own CPU does not show them. Errors count
// as not busy, so a failing check never stalls the run.
func (d *database) busy(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, d.admin)
	if err != nil {
		return false
	}
	defer conn.Close(ctx)
	var n int
	err = conn.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND state = 'active'", d.Name).Scan(&n)
	return err == nil && n > 0
}
