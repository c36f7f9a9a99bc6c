package gen

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// WriteDir writes the set into dir: RootFile and every file in s.Files.
// The folder must be empty or absent, so that stale files of another set
// cannot end up in a benchmark.
func (s *Set) WriteDir(dir string) error {
	if dir == "" {
		return fmt.Errorf("gen: write: no folder given")
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("gen: write: folder %s is not empty", dir)
	}
	byFile := make(map[string][]*Entity, len(s.Files))
	for _, e := range s.Entities {
		byFile[e.File] = append(byFile[e.File], e)
	}
	for _, f := range s.Files {
		if err := writeFile(filepath.Join(dir, filepath.FromSlash(f)), byFile[f]); err != nil {
			return err
		}
	}
	return s.writeRoot(filepath.Join(dir, RootFile))
}

func (s *Set) writeRoot(p string) error {
	var b strings.Builder
	b.WriteString("apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n")
	fmt.Fprintf(&b, "  name: %s\n  description: %s\nspec:\n  targets:\n", s.Root.Name, s.Root.Description)
	for _, f := range s.Files {
		fmt.Fprintf(&b, "    - ./%s\n", f)
	}
	return writeBytes(p, []byte(b.String()))
}

func writeFile(p string, entities []*Entity) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("gen: write: %w", err)
	}
	f, err := os.Create(p)
	if err != nil {
		return fmt.Errorf("gen: write: %w", err)
	}
	w := bufio.NewWriterSize(f, 64<<10)
	for i, e := range entities {
		if i > 0 {
			w.WriteString("---\n")
		}
		writeEntity(w, e)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("gen: write %s: %w", p, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("gen: write %s: %w", p, err)
	}
	return nil
}

func writeBytes(p string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("gen: write: %w", err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return fmt.Errorf("gen: write: %w", err)
	}
	return nil
}

// writeEntity renders one entity as YAML. Every generated string is a plain
// scalar that needs no quoting (names, words, and sentences without ':' or
// '#'), except the API definition, written as a literal block.
func writeEntity(w *bufio.Writer, e *Entity) {
	fmt.Fprintf(w, "apiVersion: backstage.io/v1alpha1\nkind: %s\nmetadata:\n  name: %s\n", e.Kind, e.Name)
	if e.Description != "" {
		fmt.Fprintf(w, "  description: %s\n", e.Description)
	}
	if len(e.Tags) > 0 {
		w.WriteString("  tags:\n")
		for _, t := range e.Tags {
			fmt.Fprintf(w, "    - %s\n", t)
		}
	}
	w.WriteString("spec:\n")
	scalar := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "  %s: %s\n", k, v)
		}
	}
	list := func(k string, vs []string, defaultKind string, always bool) {
		if len(vs) == 0 {
			if always {
				fmt.Fprintf(w, "  %s: []\n", k)
			}
			return
		}
		fmt.Fprintf(w, "  %s:\n", k)
		for _, v := range vs {
			fmt.Fprintf(w, "    - %s\n", shortRef(v, defaultKind))
		}
	}
	scalar("type", e.Type)
	scalar("lifecycle", e.Lifecycle)
	scalar("owner", shortRef(e.Owner, "group"))
	scalar("system", shortRef(e.System, "system"))
	scalar("domain", shortRef(e.Domain, "domain"))
	scalar("parent", shortRef(e.Parent, "group"))
	switch e.Kind {
	case "Group":
		list("children", e.Children, "group", true)
	case "User":
		list("memberOf", e.MemberOf, "group", true)
	}
	list("providesApis", e.Provides, "api", false)
	list("consumesApis", e.Consumes, "api", false)
	list("dependsOn", e.DependsOn, "", false)
	if e.Definition != "" {
		w.WriteString("  definition: |\n")
		for _, line := range strings.Split(strings.TrimRight(e.Definition, "\n"), "\n") {
			if line == "" {
				w.WriteString("\n")
				continue
			}
			fmt.Fprintf(w, "    %s\n", line)
		}
	}
}

// shortRef writes a canonical ref the way people do: without the default
// namespace, and without the kind when the field implies it.
func shortRef(ref, defaultKind string) string {
	if ref == "" {
		return ""
	}
	kind, rest, _ := strings.Cut(ref, ":")
	rest = strings.TrimPrefix(rest, "default/")
	if kind == defaultKind {
		return rest
	}
	return kind + ":" + rest
}

// definition returns a small, valid definition of an API of type typ.
func definition(typ, name string) string {
	switch typ {
	case "grpc":
		svc := strings.ReplaceAll(name, "-", "_")
		return fmt.Sprintf("syntax = \"proto3\";\npackage %s.v1;\n\nservice Service {\n  rpc Get(GetRequest) returns (Item);\n}\n\nmessage GetRequest {\n  string id = 1;\n}\n\nmessage Item {\n  string id = 1;\n  string name = 2;\n}\n", svc)
	case "asyncapi":
		return fmt.Sprintf("asyncapi: 2.6.0\ninfo:\n  title: %s\n  version: 1.0.0\nchannels:\n  %s-events:\n    subscribe:\n      message:\n        payload:\n          type: object\n", name, name)
	case "graphql":
		return "type Query {\n  item(id: ID!): Item\n}\n\ntype Item {\n  id: ID!\n  name: String!\n}\n"
	default:
		return fmt.Sprintf("openapi: 3.0.3\ninfo:\n  title: %s\n  version: 1.0.0\npaths:\n  /items/{id}:\n    get:\n      parameters:\n        - name: id\n          in: path\n          required: true\n          schema:\n            type: string\n      responses:\n        '200':\n          description: The item\n", name)
	}
}
