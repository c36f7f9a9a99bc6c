package actions

import (
	"bytes"
	"context"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/scaffolder"
	"github.com/atrium-portal/atrium/internal/scaffolder/tmpl"
)

const noOutput = `{"type":"object","properties":{}}`

func fetchPlain(d Deps) scaffolder.Action {
	return &action{
		id: "fetch:plain", description: "Downloads content and places it in the workspace, or optionally in a subdirectory specified by the targetPath input option.",
		in: schema(`{"type":"object","required":["url"],"properties":{
			"url":{"type":"string","description":"Relative path to the template's folder, or an absolute http(s) URL of one file"},
			"targetPath":{"type":"string","description":"Target path within the working directory to download the contents to."},
			"token":{"type":"string"}}}`),
		out: schema(noOutput),
		run: func(ctx context.Context, ac scaffolder.ActionContext) error {
			in, err := input[struct{ URL, TargetPath string }](ac)
			if err != nil {
				return err
			}
			return d.copyTree(ctx, ac, in.URL, in.TargetPath, nil)
		},
	}
}

func fetchPlainFile(d Deps) scaffolder.Action {
	return &action{
		id: "fetch:plain:file", description: "Downloads single file and places it in the workspace.",
		in: schema(`{"type":"object","required":["url","targetPath"],"properties":{
			"url":{"type":"string"},"targetPath":{"type":"string"},"token":{"type":"string"}}}`),
		out: schema(noOutput),
		run: func(ctx context.Context, ac scaffolder.ActionContext) error {
			in, err := input[struct{ URL, TargetPath string }](ac)
			if err != nil {
				return err
			}
			files, err := d.fetchFiles(ctx, ac, in.URL, false)
			if err != nil {
				return err
			}
			if len(files) != 1 || files[0].path != "." {
				return errorf("fetch:plain:file: %s is a folder; use fetch:plain", in.URL)
			}
			return writeFile(ac.Workspace, in.TargetPath, files[0].data, files[0].mode, true)
		},
	}
}

// fetchFiles reads what a fetch url names, relative to the template's
// location: a folder or file next to a file: template, on the embedded git
// host, or over http(s) (a folder through its manifest, when folder).
func (d Deps) fetchFiles(ctx context.Context, ac scaffolder.ActionContext, url string, folder bool) ([]file, error) {
	src, err := resolveSource(ac.TemplateBaseURL, url)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	if src.url != "" {
		return d.remoteFiles(ctx, src.url, folder)
	}
	return d.files(ctx, src)
}

// copyTree copies a fetched folder into targetPath; transform, when set,
// may rename (empty name: skip) or rewrite each file.
func (d Deps) copyTree(ctx context.Context, ac scaffolder.ActionContext, url, target string, transform func(f *file) (bool, error)) error {
	target, err := relPath("targetPath", target)
	if err != nil {
		return err
	}
	files, err := d.fetchFiles(ctx, ac, url, true)
	if err != nil {
		return err
	}
	for i := range files {
		f := &files[i]
		if f.path == "." {
			f.path = path.Base(url)
		}
		replace := true
		if transform != nil {
			keep, err := transform(f)
			if err != nil {
				return err
			}
			if !keep {
				continue
			}
			replace = false
		}
		rel, err := relPath("file name", f.path)
		if err != nil {
			return err
		}
		err = writeFile(ac.Workspace, path.Join(target, rel), f.data, f.mode, replace)
		if fault.KindOf(err) == fault.Conflict {
			ac.Logger.Info("skipped existing file", "path", path.Join(target, rel))
			continue
		}
		if err != nil {
			return err
		}
	}
	ac.Logger.Info("fetched files", "count", len(files), "targetPath", target)
	return nil
}

// templateInput are fetch:template's inputs.
type templateInput struct {
	URL                   string         `json:"url"`
	TargetPath            string         `json:"targetPath"`
	Values                map[string]any `json:"values"`
	CopyWithoutTemplating []string       `json:"copyWithoutTemplating"`
	CopyWithoutRender     []string       `json:"copyWithoutRender"`
	TemplateFileExtension any            `json:"templateFileExtension"`
	CookiecutterCompat    bool           `json:"cookiecutterCompat"`
	Replace               bool           `json:"replace"`
	TrimBlocks            bool           `json:"trimBlocks"`
	LstripBlocks          bool           `json:"lstripBlocks"`
}

const templateInputSchema = `{"type":"object","required":["url"],"properties":{
	"url":{"type":"string","description":"Relative path to the template's folder, or an absolute http(s) URL"},
	"targetPath":{"type":"string","description":"Target path within the working directory"},
	"values":{"type":"object","description":"Values to pass on to the templating engine"},
	"copyWithoutTemplating":{"type":"array","items":{"type":"string"},"description":"Globs of files whose contents are copied without rendering (paths are still rendered)"},
	"copyWithoutRender":{"type":"array","items":{"type":"string"},"description":"Deprecated: globs copied with neither contents nor paths rendered"},
	"templateFileExtension":{"type":["string","boolean"],"description":"Only render files with this extension (true: .njk), stripping it"},
	"cookiecutterCompat":{"type":"boolean"},"replace":{"type":"boolean"},
	"trimBlocks":{"type":"boolean"},"lstripBlocks":{"type":"boolean"},"token":{"type":"string"}}}`

func fetchTemplate(d Deps) scaffolder.Action {
	return &action{
		id: "fetch:template", description: "Downloads a skeleton, templates variables into file and directory names and content, and places the result in the workspace.",
		in: schema(templateInputSchema), out: schema(noOutput),
		run: func(ctx context.Context, ac scaffolder.ActionContext) error {
			in, err := input[templateInput](ac)
			if err != nil {
				return err
			}
			ext := ""
			switch x := in.TemplateFileExtension.(type) {
			case bool:
				if x {
					ext = ".njk"
				}
			case string:
				ext = x
				if ext != "" && !strings.HasPrefix(ext, ".") {
					ext = "." + ext
				}
			}
			if ext != "" && (len(in.CopyWithoutTemplating) > 0 || len(in.CopyWithoutRender) > 0 || in.CookiecutterCompat) {
				return errorf("fetch:template: templateFileExtension cannot be combined with copyWithoutTemplating, copyWithoutRender or cookiecutterCompat")
			}
			r := &renderer{d: d, ctx: ctx, in: in, ext: ext}
			err = d.copyTree(ctx, ac, in.URL, in.TargetPath, r.transform)
			if err == nil && in.Replace {
				return nil
			}
			return err
		},
	}
}

func fetchTemplateFile(d Deps) scaffolder.Action {
	return &action{
		id: "fetch:template:file", description: "Downloads a single file and templates its content with the values, placing it in the workspace.",
		in: schema(`{"type":"object","required":["url","targetPath"],"properties":{
			"url":{"type":"string"},"targetPath":{"type":"string"},"values":{"type":"object"},
			"cookiecutterCompat":{"type":"boolean"},"replace":{"type":"boolean"},
			"trimBlocks":{"type":"boolean"},"lstripBlocks":{"type":"boolean"},"token":{"type":"string"}}}`),
		out: schema(noOutput),
		run: func(ctx context.Context, ac scaffolder.ActionContext) error {
			in, err := input[templateInput](ac)
			if err != nil {
				return err
			}
			files, err := d.fetchFiles(ctx, ac, in.URL, false)
			if err != nil {
				return err
			}
			if len(files) != 1 || files[0].path != "." {
				return errorf("fetch:template:file: %s is a folder; use fetch:template", in.URL)
			}
			r := &renderer{d: d, ctx: ctx, in: in}
			out, err := r.content(files[0].data)
			if err != nil {
				return err
			}
			err = writeFile(ac.Workspace, in.TargetPath, out, files[0].mode, in.Replace)
			if fault.KindOf(err) == fault.Conflict {
				ac.Logger.Info("skipped existing file", "path", in.TargetPath)
				return nil
			}
			return err
		},
	}
}

// renderer renders the paths and contents of a skeleton.
type renderer struct {
	d   Deps
	ctx context.Context
	in  templateInput
	ext string
}

func (r *renderer) data() map[string]any {
	values := r.in.Values
	if values == nil {
		values = map[string]any{}
	}
	if r.in.CookiecutterCompat {
		return map[string]any{"cookiecutter": values}
	}
	return map[string]any{"values": values}
}

func (r *renderer) opts() tmpl.Options {
	return tmpl.Options{Cookiecutter: r.in.CookiecutterCompat, TrimBlocks: r.in.TrimBlocks, LStripBlocks: r.in.LstripBlocks}
}

func matchAny(globs []string, p string) bool {
	for _, g := range globs {
		g = strings.TrimPrefix(g, "./")
		if ok, _ := doublestar.Match(g, p); ok {
			return true
		}
		// A folder glob covers what is inside it.
		if ok, _ := doublestar.Match(strings.TrimSuffix(g, "/")+"/**", p); ok {
			return true
		}
	}
	return false
}

// transform renders one file's path and content. A path that renders to
// an empty segment drops the file (how templates make files optional).
func (r *renderer) transform(f *file) (bool, error) {
	if matchAny(r.in.CopyWithoutRender, f.path) {
		return true, nil
	}
	renderContent := !matchAny(r.in.CopyWithoutTemplating, f.path)
	if r.ext != "" {
		renderContent = strings.HasSuffix(f.path, r.ext)
		f.path = strings.TrimSuffix(f.path, r.ext)
	}
	segs := strings.Split(f.path, "/")
	for i, s := range segs {
		if !strings.Contains(s, "{{") && !strings.Contains(s, "{%") {
			continue
		}
		out, err := r.d.Templates.Render(r.ctx, s, r.data(), r.opts())
		if err != nil {
			return false, fault.Wrap(fault.Invalid, err, "file name %s", f.path)
		}
		if strings.TrimSpace(out) == "" {
			return false, nil
		}
		segs[i] = out
	}
	rendered := strings.Join(segs, "/")
	if _, err := relPath("templated file name", rendered); err != nil {
		return false, fault.New(fault.Forbidden, "file name %s renders to %q, which resolves outside the target folder", f.path, rendered)
	}
	for _, s := range strings.Split(rendered, "/") {
		if s == ".." {
			return false, fault.New(fault.Forbidden, "file name %s renders to %q, which climbs out of the target folder", f.path, rendered)
		}
	}
	f.path = rendered
	if !renderContent || isBinary(f.data) {
		return true, nil
	}
	out, err := r.content(f.data)
	if err != nil {
		return false, fault.Wrap(fault.Invalid, err, "%s", f.path)
	}
	f.data = out
	return true, nil
}

func (r *renderer) content(data []byte) ([]byte, error) {
	out, err := r.d.Templates.Render(r.ctx, string(data), r.data(), r.opts())
	if err != nil {
		return nil, err
	}
	return []byte(out), nil
}

// isBinary reports whether data looks like a binary file (a NUL byte in
// the first 8 KiB, or invalid UTF-8): such files are copied raw.
func isBinary(data []byte) bool {
	head := data
	if len(head) > 8192 {
		head = head[:8192]
	}
	return bytes.IndexByte(head, 0) >= 0 || !utf8.Valid(head)
}
