package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/scaffolder"
	"github.com/atrium-portal/atrium/internal/scaffolder/actions"
	"github.com/atrium-portal/atrium/internal/scaffolder/tmpl"
	"github.com/atrium-portal/atrium/internal/secrets"
	"github.com/atrium-portal/atrium/internal/store/sqlite"
	"github.com/atrium-portal/atrium/plugin"
	"github.com/atrium-portal/atrium/plugins"
	"github.com/atrium-portal/atrium/plugins/locations"
)

// templateCmd runs `atrium template dry-run`.
func templateCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "dry-run" {
		return usagef("template needs a subcommand: dry-run")
	}
	fs := flag.NewFlagSet("template dry-run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	valuesFile := fs.String("values", "", "YAML or JSON file of parameter values")
	out := fs.String("out", "", "folder to write the rendered files to")
	if err := fs.Parse(reorderFlags(args[1:])); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("template dry-run needs one TEMPLATE.yaml")
	}
	file := fs.Arg(0)
	e, err := readTemplate(file)
	if err != nil {
		return err
	}
	values := map[string]any{}
	if *valuesFile != "" {
		raw, err := os.ReadFile(*valuesFile)
		if err != nil {
			return err
		}
		if err := yaml.Unmarshal(raw, &values); err != nil {
			return fmt.Errorf("%s: %w", *valuesFile, err)
		}
		values = jsonish(values).(map[string]any)
	}
	res, err := dryRunLocal(ctx, e, file, values)
	if err != nil {
		var verr *scaffolder.ValidationErrors
		if errAs(err, &verr) {
			for _, v := range verr.Errors {
				fmt.Fprintf(stderr, "%s: %s\n", v.Property, v.Message)
			}
			return errProblems
		}
		return err
	}
	for _, l := range res.Log {
		prefix := ""
		if l.Body.StepID != "" {
			prefix = "[" + l.Body.StepID + "] "
		}
		fmt.Fprintf(stdout, "%s%s\n", prefix, l.Body.Message)
	}
	if *out != "" {
		for _, f := range res.DirectoryContents {
			data, _ := base64.StdEncoding.DecodeString(f.Base64Content)
			p := filepath.Join(*out, filepath.FromSlash(f.Path))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			mode := os.FileMode(0o644)
			if f.Executable {
				mode = 0o755
			}
			if err := os.WriteFile(p, data, mode); err != nil {
				return err
			}
		}
		fmt.Fprintf(stdout, "wrote %d files to %s\n", len(res.DirectoryContents), *out)
	}
	if res.Status != scaffolder.StatusCompleted {
		fmt.Fprintf(stderr, "dry run %s: %s\n", res.Status, res.Error)
		return errProblems
	}
	return nil
}

// reorderFlags moves flags before the positional arguments, so that
// `dry-run T.yaml --values V.yaml` parses.
func reorderFlags(args []string) []string {
	var flags, rest []string
	for i := 0; i < len(args); i++ {
		if strings.HasPrefix(args[i], "-") {
			flags = append(flags, args[i])
			if !strings.Contains(args[i], "=") && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
			continue
		}
		rest = append(rest, args[i])
	}
	return append(flags, rest...)
}

func errAs(err error, target **scaffolder.ValidationErrors) bool {
	v, ok := err.(*scaffolder.ValidationErrors)
	if ok {
		*target = v
	}
	return ok
}

// readTemplate reads the Template document of a YAML file.
func readTemplate(file string) (*catalog.Entity, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); err != nil {
			if err == io.EOF {
				return nil, fmt.Errorf("%s: no Template document", file)
			}
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		if k, _ := doc["kind"].(string); !strings.EqualFold(k, "Template") {
			continue
		}
		js, err := json.Marshal(jsonish(doc))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		var e catalog.Entity
		if err := json.Unmarshal(js, &e); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		return &e, nil
	}
}

// jsonish turns YAML's map[string]any trees into JSON-compatible values.
func jsonish(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			x[k] = jsonish(val)
		}
		return x
	case map[any]any:
		out := map[string]any{}
		for k, val := range x {
			out[fmt.Sprint(k)] = jsonish(val)
		}
		return out
	case []any:
		for i, val := range x {
			x[i] = jsonish(val)
		}
	}
	return v
}

// offlineCatalog is the catalog of a command-line dry run: there is none.
type offlineCatalog struct{ engine.Catalog }

func (offlineCatalog) EntityByRef(_ context.Context, ref string) (*catalog.Entity, error) {
	return nil, fault.New(fault.NotFound, "%s: a command-line dry run has no catalog", ref)
}

// dryRunLocal runs the template in a throwaway database and workspace.
func dryRunLocal(ctx context.Context, e *catalog.Entity, file string, values map[string]any) (*scaffolder.DryRunResult, error) {
	dir, err := os.MkdirTemp("", "atrium-dry-run-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	db, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(dir, "dry-run.db")})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return nil, err
	}
	te := tmpl.New(tmpl.Limits{})
	cat := offlineCatalog{}
	reg, err := scaffolder.NewRegistry(actions.Builtins(actions.Deps{Catalog: cat, Templates: te,
		Git: &actions.GitHost{Dir: filepath.Join(dir, "git"), BaseURL: "http://localhost:7007"}})...)
	if err != nil {
		return nil, err
	}
	cleanup, err := addSimulatedPluginActions(ctx, reg, dir)
	defer cleanup()
	if err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	box, _ := secrets.NewBox([]secrets.Key{{ID: "cli", Key: key}})
	svc, err := scaffolder.New(scaffolder.Params{Store: db, Catalog: cat, Registry: reg, Tmpl: te, Box: box,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), WorkDir: filepath.Join(dir, "work")})
	if err != nil {
		return nil, err
	}
	return svc.DryRunEntity(ctx, e, file, values, nil)
}

// addSimulatedPluginActions registers the actions of the built-in
// integration plugins (GitLab, AWX, Terraform, OpenShift, Azure) running
// against their simulators, as in demo mode: a command-line dry run never
// reaches a real system, and templates that use those actions render and
// run through. Simulators that speak HTTP are served on a loopback port
// under /sim/<plugin>/, where demo mode serves them.
func addSimulatedPluginActions(ctx context.Context, reg *scaffolder.Registry, dir string) (cleanup func(), err error) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var (
		mu          sync.RWMutex
		sims        = map[string]http.Handler{}
		provisioned []plugin.Plugin
	)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return func() {}, err
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/sim/"), "/")
		mu.RLock()
		h := sims[id]
		mu.RUnlock()
		if h == nil {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(ln) }()
	cleanup = func() {
		for _, p := range provisioned {
			_ = p.Cleanup(context.Background())
		}
		_ = srv.Close()
	}
	base := "http://" + ln.Addr().String()
	for _, b := range plugins.Builtins() {
		if b.ID == plugins.ScaffolderBuiltinID {
			continue // its actions are registered above
		}
		if b.ID == locations.ID {
			continue // it feeds the catalog's engine, which a dry run has none of
		}
		p := b.New(plugins.Deps{Demo: true})
		host := plugin.Host{Logger: quiet, BaseURL: base, DataDir: filepath.Join(dir, "plugins", b.ID)}
		if err := os.MkdirAll(host.DataDir, 0o700); err != nil {
			return cleanup, err
		}
		if err := p.Provision(ctx, host, nil); err != nil {
			return cleanup, fmt.Errorf("the simulated %s plugin: %w", b.ID, err)
		}
		provisioned = append(provisioned, p)
		if err := p.Validate(ctx); err != nil {
			return cleanup, fmt.Errorf("the simulated %s plugin: %w", b.ID, err)
		}
		if s, ok := p.(interface{ Simulator() http.Handler }); ok {
			mu.Lock()
			sims[b.ID] = s.Simulator()
			mu.Unlock()
		}
		for _, a := range p.Components().Actions {
			if err := reg.Add(scaffolder.PluginAction(b.ID, a)); err != nil {
				return cleanup, fmt.Errorf("the simulated %s plugin: %w", b.ID, err)
			}
		}
	}
	return cleanup, nil
}
