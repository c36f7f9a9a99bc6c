package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/atrium-portal/atrium/internal/auth"
	"github.com/atrium-portal/atrium/internal/authz"
	"github.com/atrium-portal/atrium/internal/catalog"
	"go.yaml.in/yaml/v3"
)

// policyCommand runs `atrium policy test` and `atrium policy refresh`.
func policyCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "refresh" {
		return policyRefresh(ctx, args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "test" {
		return usagef("policy needs a subcommand: test or refresh")
	}
	fs := flag.NewFlagSet("policy test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var admins stringList
	fs.Var(&admins, "admin", "a user or group ref allowed every permission, like atrium.authz.admins (repeatable)")
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("policy test needs a policy file and a cases file: atrium policy test POLICY.yaml CASES.yaml")
	}
	policyFile, casesFile := pos[0], pos[1]
	a, err := authz.New(authz.Params{Files: []string{policyFile}, Admins: admins})
	if err != nil {
		return err
	}
	cases, err := readPolicyCases(casesFile)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\tCASE\tPRINCIPAL\tPERMISSION\tRESOURCE\tEXPECTED\tGOT\tREASON")
	failed := 0
	for _, c := range cases {
		var res *authz.Resource
		resName := "-"
		if c.entity != nil {
			res = &authz.Resource{Entity: c.entity}
			resName = c.entity.Ref().String()
		}
		d, err := a.Authorize(ctx, c.principal, c.Permission, res)
		if err != nil {
			return fmt.Errorf("%s:%d: %w", casesFile, c.line, err)
		}
		mark := "ok"
		if !strings.EqualFold(string(d.Result), c.Expect) {
			mark, failed = "FAIL", failed+1
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", mark, c.Name, c.principal.Ref, c.Permission, resName,
			strings.ToUpper(c.Expect), d.Result, d.Reason)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if failed > 0 {
		fmt.Fprintf(stdout, "\n%d of %d cases failed\n", failed, len(cases))
		return errProblems
	}
	fmt.Fprintf(stdout, "\nall %d cases passed\n", len(cases))
	return nil
}

// policyCase is one case of a cases file.
type policyCase struct {
	Name      string `yaml:"name"`
	Principal struct {
		Ref           string         `yaml:"ref"`
		Type          string         `yaml:"type"`
		OwnershipRefs []string       `yaml:"ownershipRefs"`
		Claims        map[string]any `yaml:"claims"`
		Scopes        []string       `yaml:"scopes"`
	} `yaml:"principal"`
	Permission string         `yaml:"permission"`
	Resource   map[string]any `yaml:"resource"`
	Expect     string         `yaml:"expect"`

	line      int
	principal *auth.Principal
	entity    *catalog.Entity
}

// readPolicyCases reads a cases file: {cases: [...]} or a bare list.
func readPolicyCases(path string) ([]*policyCase, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %v", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: no cases", path)
	}
	list := doc.Content[0]
	if list.Kind == yaml.MappingNode {
		list = nil
		for i := 0; i+1 < len(doc.Content[0].Content); i += 2 {
			if doc.Content[0].Content[i].Value == "cases" {
				list = doc.Content[0].Content[i+1]
			}
		}
	}
	if list == nil || list.Kind != yaml.SequenceNode || len(list.Content) == 0 {
		return nil, fmt.Errorf("%s: expected a list of cases under \"cases\"", path)
	}
	var errs []error
	cases := make([]*policyCase, 0, len(list.Content))
	for i, n := range list.Content {
		c := &policyCase{line: n.Line}
		if err := n.Decode(c); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: cases[%d]: %v", path, n.Line, i, strings.TrimPrefix(err.Error(), "yaml: ")))
			continue
		}
		if err := c.build(); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: cases[%d]: %v", path, n.Line, i, err))
			continue
		}
		if c.Name == "" {
			c.Name = fmt.Sprintf("#%d", i+1)
		}
		cases = append(cases, c)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return cases, nil
}

func (c *policyCase) build() error {
	switch strings.ToLower(c.Expect) {
	case "allow", "deny", "conditional":
	default:
		return fmt.Errorf("expect must be allow, deny or conditional, got %q", c.Expect)
	}
	if _, ok := authz.Lookup(c.Permission); !ok {
		return fmt.Errorf("unknown permission %q", c.Permission)
	}
	pr := c.Principal
	typ := auth.PrincipalType(pr.Type)
	switch {
	case pr.Ref == "" && (typ == "" || typ == auth.PrincipalNone):
		typ = auth.PrincipalNone
	case pr.Ref == "":
		return fmt.Errorf("principal.ref is required")
	case typ == "" && strings.HasPrefix(pr.Ref, "service:"):
		typ = auth.PrincipalService
	case typ == "":
		typ = auth.PrincipalUser
	case typ != auth.PrincipalUser && typ != auth.PrincipalService:
		return fmt.Errorf("principal.type must be user, service or none, got %q", pr.Type)
	}
	refs := pr.OwnershipRefs
	if pr.Ref != "" {
		refs = append([]string{pr.Ref}, refs...)
	}
	c.principal = &auth.Principal{Type: typ, Ref: pr.Ref, OwnershipRefs: refs, Claims: pr.Claims, Scopes: pr.Scopes}
	if c.Resource == nil {
		return nil
	}
	raw, err := json.Marshal(c.Resource)
	if err != nil {
		return fmt.Errorf("resource: %v", err)
	}
	var e catalog.Entity
	if err := json.Unmarshal(raw, &e); err != nil {
		return fmt.Errorf("resource: %v", err)
	}
	if e.Kind == "" || e.Metadata.Name == "" {
		return fmt.Errorf("resource needs kind and metadata.name")
	}
	if e.Metadata.Namespace == "" {
		e.Metadata.Namespace = catalog.DefaultNamespace
	}
	rows, probs := catalog.Relations(&e)
	if len(probs) > 0 {
		return fmt.Errorf("resource: %v", probs[0])
	}
	self := e.Ref().String()
	for _, r := range rows {
		if r.Source == self {
			e.Relations = append(e.Relations, catalog.Relation{Type: r.Type, TargetRef: r.Target})
		}
	}
	c.entity = &e
	return nil
}
