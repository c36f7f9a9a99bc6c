package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// policyRefresh runs `atrium policy refresh`: it asks a running Atrium to
// read its policy files and URLs again (POST
// /api/permission/policies/refresh), e.g. from the CI job that merged a
// policy change.
func policyRefresh(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("policy refresh", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", "", "Atrium's base URL, e.g. https://portal.example.com (required)")
	tokenEnv := fs.String("token-env", "ATRIUM_TOKEN", "environment variable holding an API token with atrium.admin.policy.refresh")
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait for the answer")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 || *base == "" {
		return usagef("policy refresh needs --url: atrium policy refresh --url https://portal.example.com")
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(*base, "/")+"/api/permission/policies/refresh", nil)
	if err != nil {
		return fmt.Errorf("--url %q: %v", *base, err)
	}
	if tok := os.Getenv(*tokenEnv); tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("policy refresh: %v", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode != http.StatusOK {
		var e struct {
			Error struct{ Message string } `json:"error"`
		}
		msg := strings.TrimSpace(string(body))
		if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
			msg = e.Error.Message
		}
		return fmt.Errorf("policy refresh: HTTP %d: %s", res.StatusCode, msg)
	}
	var out struct {
		Changed  bool     `json:"changed"`
		Sources  []string `json:"sources"`
		LoadedAt string   `json:"loadedAt"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return fmt.Errorf("policy refresh: unexpected answer: %v", err)
	}
	state := "unchanged"
	if out.Changed {
		state = "changed"
	}
	fmt.Fprintf(stdout, "policy %s; in force since %s, from %s\n", state, out.LoadedAt, strings.Join(out.Sources, ", "))
	return nil
}
