package tmpl

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/nikolalohinski/gonja/v2/builtins"
	"github.com/nikolalohinski/gonja/v2/exec"
)

// builtinFilters are gonja's filters that templates may use (all of them:
// none reads files, the environment or the network).
var builtinFilters = []string{
	"abs", "attr", "batch", "capitalize", "center", "default", "d", "dictsort", "e", "escape",
	"filesizeformat", "first", "float", "forceescape", "format", "groupby", "indent", "int", "join",
	"items", "last", "length", "count", "list", "lower", "map", "max", "min", "pprint", "random",
	"rejectattr", "reject", "replace", "reverse", "round", "safe", "selectattr", "select", "slice",
	"sort", "string", "striptags", "sum", "title", "tojson", "trim", "truncate", "unique", "upper",
	"urlencode", "urlize", "wordcount", "wordwrap", "xmlattr",
}

// RepoURL is a repository location in the scaffolder's repoUrl format:
// "host?owner=o&repo=r" (plus organization, workspace, project).
type RepoURL struct {
	Host         string `json:"host"`
	Owner        string `json:"owner,omitempty"`
	Repo         string `json:"repo"`
	Organization string `json:"organization,omitempty"`
	Workspace    string `json:"workspace,omitempty"`
	Project      string `json:"project,omitempty"`
}

// ParseRepoURL parses the repoUrl format RepoUrlPicker produces.
func ParseRepoURL(s string) (RepoURL, error) {
	u, err := url.Parse("https://" + s)
	if err != nil || u.Host == "" {
		return RepoURL{}, fmt.Errorf("invalid repo URL %q: want host?owner=…&repo=…", s)
	}
	q := u.Query()
	r := RepoURL{Host: u.Host, Owner: q.Get("owner"), Repo: q.Get("repo"), Organization: q.Get("organization"),
		Workspace: q.Get("workspace"), Project: q.Get("project")}
	if r.Repo == "" {
		return RepoURL{}, fmt.Errorf("invalid repo URL %q: missing repo", s)
	}
	return r, nil
}

func (r RepoURL) asMap() map[string]any {
	m := map[string]any{"host": r.Host, "repo": r.Repo}
	for k, v := range map[string]string{"owner": r.Owner, "organization": r.Organization, "workspace": r.Workspace, "project": r.Project} {
		if v != "" {
			m[k] = v
		}
	}
	return m
}

func parseRepoURLFilter(_ *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
	r, err := ParseRepoURL(in.String())
	if err != nil {
		return errValue(err)
	}
	return exec.AsValue(r.asMap())
}

func projectSlugFilter(_ *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
	r, err := ParseRepoURL(in.String())
	if err != nil {
		return errValue(err)
	}
	return exec.AsValue(r.Owner + "/" + r.Repo)
}

// parseEntityRefFilter splits "kind:namespace/name" with optional
// {defaultKind, defaultNamespace} defaults, keeping the case as written.
func parseEntityRefFilter(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	ref := in.String()
	kind, namespace := "", "default"
	if len(params.Args) > 0 && params.Args[0].IsDict() {
		if v, ok := params.Args[0].Get("defaultKind"); ok && !v.IsNil() {
			kind = v.String()
		}
		if v, ok := params.Args[0].Get("defaultNamespace"); ok && !v.IsNil() {
			namespace = v.String()
		}
	}
	rest := ref
	if i := strings.Index(rest, ":"); i >= 0 {
		kind, rest = rest[:i], rest[i+1:]
	}
	name := rest
	if i := strings.Index(rest, "/"); i >= 0 {
		namespace, name = rest[:i], rest[i+1:]
	}
	if kind == "" || namespace == "" || name == "" || strings.ContainsAny(name, ":/") {
		return errValue(fmt.Errorf("invalid entity ref %q: want [kind:][namespace/]name (kind required without a defaultKind)", ref))
	}
	return exec.AsValue(map[string]any{"kind": kind, "namespace": namespace, "name": name})
}

func pickFilter(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if len(params.Args) != 1 {
		return errValue(fmt.Errorf("pick: expected one key"))
	}
	if v, ok := in.Get(params.Args[0].String()); ok {
		return v
	}
	return exec.AsValue(nil)
}

// sandboxFilters returns every filter templates may use, each guarded.
func sandboxFilters() *exec.FilterSet {
	all := map[string]exec.FilterFunction{}
	for _, name := range builtinFilters {
		if f, ok := builtins.Filters.Get(name); ok {
			all[name] = guardFilter(name, f)
		}
	}
	if f, ok := builtins.Filters.Get("tojson"); ok {
		all["dump"] = guardFilter("dump", f)
	}
	all["parseRepoUrl"] = guardFilter("parseRepoUrl", parseRepoURLFilter)
	all["projectSlug"] = guardFilter("projectSlug", projectSlugFilter)
	all["parseEntityRef"] = guardFilter("parseEntityRef", parseEntityRefFilter)
	all["pick"] = guardFilter("pick", pickFilter)
	all[filterBinop] = binop
	all[filterOut] = outFilter
	all[filterLoop] = loopFilter
	all[filterCapture] = captureFilter
	return exec.NewFilterSet(all)
}

const filterCapture = "__atrium_capture"

// captureFilter keeps the native value of a single-expression evaluation.
func captureFilter(e *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
	b := budgetOf(e.Environment.Context)
	if b == nil {
		return errValue(fmt.Errorf("%s used outside a sandboxed render", filterCapture))
	}
	v := in.ToGoSimpleType(false)
	if err, ok := v.(error); ok {
		return errValue(err)
	}
	b.captured = v
	return exec.AsValue("")
}
