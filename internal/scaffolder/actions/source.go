package actions

import (
	"context"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/atrium-portal/atrium/internal/fault"
)

// source is where fetch actions read from: a folder next to the template
// (file: locations), confined with os.Root to the template's folder, or one
// file over http(s).
type source struct {
	root *os.Root // the template's folder, for file: bases
	rel  string   // path under root
	url  string   // an absolute http(s) URL
}

func (s *source) Close() {
	if s.root != nil {
		s.root.Close()
	}
}

// resolveSource resolves a fetch url against the template's base URL.
// Relative URLs under a file: base stay inside the template's folder.
func resolveSource(base, raw string) (*source, error) {
	if u, err := url.Parse(raw); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		return &source{url: raw}, nil
	}
	if strings.Contains(raw, ":") && !strings.HasPrefix(raw, ".") {
		return nil, errorf("fetch url %q: only paths relative to the template and http(s) URLs are supported", raw)
	}
	switch {
	case strings.HasPrefix(base, "file:"):
		dir := filepath.Clean(strings.TrimPrefix(base, "file:"))
		rel, err := relPath("fetch url", raw)
		if err != nil {
			return nil, fault.New(fault.Invalid, "fetch url %q resolves outside the template's folder", raw)
		}
		root, err := os.OpenRoot(dir)
		if err != nil {
			return nil, fault.Wrap(fault.NotFound, err, "the template's folder %s", dir)
		}
		return &source{root: root, rel: rel}, nil
	case strings.HasPrefix(base, "url:"):
		b, err := url.Parse(strings.TrimPrefix(base, "url:"))
		if err != nil {
			return nil, errorf("template base %q: %v", base, err)
		}
		r, err := url.Parse(raw)
		if err != nil {
			return nil, errorf("fetch url %q: %v", raw, err)
		}
		return &source{url: b.ResolveReference(r).String()}, nil
	}
	return nil, errorf("fetch url %q is relative, but the template has no location to resolve it against", raw)
}

// file is one file read from a source.
type file struct {
	path string // relative to the fetched folder ("." for a single file)
	data []byte
	mode fs.FileMode
}

// files reads every regular file under the source, refusing symlinks
// that point outside the template's folder (os.Root refuses to follow
// them) and stopping at the limits.
func (d Deps) files(ctx context.Context, s *source) ([]file, error) {
	if s.url != "" {
		data, err := d.readURL(ctx, s.url)
		if err != nil {
			return nil, err
		}
		return []file{{path: ".", data: data, mode: 0o644}}, nil
	}
	info, err := s.root.Stat(s.rel)
	if err != nil {
		return nil, fault.Wrap(fault.NotFound, err, "fetch: %s", s.rel)
	}
	if !info.IsDir() {
		data, err := d.readRoot(s.root, s.rel)
		if err != nil {
			return nil, err
		}
		return []file{{path: ".", data: data, mode: info.Mode().Perm()}}, nil
	}
	var out []file
	var total int64
	err = fs.WalkDir(s.root.FS(), s.rel, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.IsDir() {
			return nil
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, s.rel), "/")
		if s.rel == "." {
			rel = p
		}
		if e.Type()&fs.ModeSymlink != 0 {
			st, err := s.root.Stat(p)
			if err != nil {
				return fault.New(fault.Forbidden, "fetch: symlink %s points outside the template's folder", p)
			}
			if st.IsDir() {
				return fault.New(fault.Invalid, "fetch: symlink %s points to a folder; only symlinks to files are copied", p)
			}
		} else if !e.Type().IsRegular() {
			return nil
		}
		if len(out) >= d.MaxFiles {
			return fault.New(fault.Invalid, "fetch: more than %d files", d.MaxFiles)
		}
		data, err := d.readRoot(s.root, p)
		if err != nil {
			return err
		}
		total += int64(len(data))
		if total > 20*d.MaxFileBytes {
			return fault.New(fault.Invalid, "fetch: more than %d bytes in total", 20*d.MaxFileBytes)
		}
		mode := fs.FileMode(0o644)
		if info, err := s.root.Stat(p); err == nil && info.Mode().Perm()&0o111 != 0 {
			mode = 0o755
		}
		out = append(out, file{path: rel, data: data, mode: mode})
		return nil
	})
	if err != nil {
		if fault.KindOf(err) != fault.Internal {
			return nil, err
		}
		return nil, fault.Wrap(fault.Invalid, err, "fetch %s", s.rel)
	}
	return out, nil
}

func (d Deps) readRoot(root *os.Root, p string) ([]byte, error) {
	f, err := root.Open(p)
	if err != nil {
		return nil, fault.Wrap(fault.Forbidden, err, "fetch: %s", p)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, d.MaxFileBytes+1))
	if err != nil {
		return nil, fault.Wrap(fault.Internal, err, "fetch: read %s", p)
	}
	if int64(len(data)) > d.MaxFileBytes {
		return nil, fault.New(fault.Invalid, "fetch: %s is larger than %d bytes", p, d.MaxFileBytes)
	}
	return data, nil
}

func (d Deps) readURL(ctx context.Context, u string) ([]byte, error) {
	if d.URLReader == nil {
		return nil, errorf("fetch: reading URLs is not configured (%s)", u)
	}
	return d.URLReader.Read(ctx, u)
}

// writeFile writes data at rel inside the workspace, creating folders.
// With replace false an existing file is kept (fault.Conflict).
func writeFile(ws *os.Root, rel string, data []byte, mode fs.FileMode, replace bool) error {
	rel, err := relPath("path", rel)
	if err != nil {
		return err
	}
	if dir := path.Dir(rel); dir != "." {
		if err := ws.MkdirAll(dir, 0o755); err != nil {
			return fault.Wrap(fault.Forbidden, err, "create folder %s in the workspace", dir)
		}
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if !replace {
		flags |= os.O_EXCL
	}
	f, err := ws.OpenFile(rel, flags, mode)
	if err != nil {
		if os.IsExist(err) {
			return fault.New(fault.Conflict, "%s already exists in the workspace (set replace: true to overwrite)", rel)
		}
		return fault.Wrap(fault.Forbidden, err, "write %s in the workspace", rel)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fault.Wrap(fault.Internal, err, "write %s", rel)
	}
	return f.Close()
}
