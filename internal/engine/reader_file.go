package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/atrium-portal/atrium/internal/fault"
)

// FileReader reads "file" locations from the local filesystem. Targets are
// absolute paths (the engine resolves relative ones before reading).
type FileReader struct {
	// MaxBytes is the largest file read; 0 means 1 MiB.
	MaxBytes int64
	// MaxMatches is the most files a glob may match; 0 means 100000.
	MaxMatches int
}

var _ Globber = (*FileReader)(nil)

// Read returns the content of the file at target.
func (r *FileReader) Read(ctx context.Context, target string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !filepath.IsAbs(target) {
		return nil, fault.New(fault.Invalid, "file location %q is not an absolute path", target)
	}
	f, err := os.Open(target)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fault.New(fault.NotFound, "%s does not exist", target)
		}
		return nil, fault.New(fault.Invalid, "cannot read %s: %s", target, pathErrText(err))
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, fault.New(fault.Invalid, "%s is a directory, not a descriptor file", target)
	}
	limit := r.maxBytes()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fault.New(fault.Invalid, "cannot read %s: %s", target, pathErrText(err))
	}
	if int64(len(data)) > limit {
		return nil, fault.New(fault.TooLarge, "%s is larger than the limit of %d bytes", target, limit)
	}
	return data, nil
}

func (r *FileReader) maxBytes() int64 {
	if r.MaxBytes > 0 {
		return r.MaxBytes
	}
	return 1 << 20
}

// Glob returns the files matching pattern, an absolute path whose segments
// may hold path.Match wildcards, and "**" for any number of directories.
// Symbolic links to directories are not followed.
func (r *FileReader) Glob(ctx context.Context, pattern string) ([]string, error) {
	if !filepath.IsAbs(pattern) {
		return nil, fault.New(fault.Invalid, "file location %q is not an absolute path", pattern)
	}
	segs := strings.Split(filepath.ToSlash(filepath.Clean(pattern)), "/")
	// The root is the longest leading run of segments without wildcards.
	n := 0
	for n < len(segs) && !isGlob(segs[n]) {
		n++
	}
	if n == len(segs) {
		return []string{pattern}, nil
	}
	for _, s := range segs[n:] {
		if s == "**" {
			continue
		}
		if _, err := path.Match(s, ""); err != nil {
			return nil, fault.New(fault.Invalid, "pattern %q: bad segment %q", pattern, s)
		}
	}
	root := filepath.FromSlash(strings.Join(segs[:n], "/"))
	if root == "" {
		root = "/"
	}
	rest := segs[n:]
	maxMatches := r.MaxMatches
	if maxMatches <= 0 {
		maxMatches = 100000
	}
	var out []string
	errTooMany := errors.New("too many matches")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return err
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		parts := strings.Split(filepath.ToSlash(rel), "/")
		if d.IsDir() {
			if !matchPrefix(rest, parts) {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if matchSegments(rest, parts) {
			if len(out) >= maxMatches {
				return errTooMany
			}
			out = append(out, p)
		}
		return nil
	})
	if errors.Is(err, errTooMany) {
		return nil, fault.New(fault.TooLarge, "pattern %q matches more than %d files", pattern, maxMatches)
	}
	if err != nil {
		if fe, ok := err.(*fault.Error); ok {
			return nil, fe
		}
		return nil, fault.Wrap(fault.Invalid, err, "cannot expand %s: %s", pattern, pathErrText(err))
	}
	sort.Strings(out)
	return out, nil
}

// matchSegments reports whether the path segments match the pattern
// segments, where "**" matches zero or more segments.
func matchSegments(pat, parts []string) bool {
	if len(pat) == 0 {
		return len(parts) == 0
	}
	if pat[0] == "**" {
		for i := 0; i <= len(parts); i++ {
			if matchSegments(pat[1:], parts[i:]) {
				return true
			}
		}
		return false
	}
	if len(parts) == 0 {
		return false
	}
	ok, _ := path.Match(pat[0], parts[0])
	return ok && matchSegments(pat[1:], parts[1:])
}

// matchPrefix reports whether a directory at parts could hold matches.
func matchPrefix(pat, parts []string) bool {
	if len(parts) == 0 {
		return true
	}
	if len(pat) == 0 {
		return false
	}
	if pat[0] == "**" {
		return true
	}
	ok, _ := path.Match(pat[0], parts[0])
	return ok && matchPrefix(pat[1:], parts[1:])
}

// pathErrText is the reason of a filesystem error without the path, which
// messages already name.
func pathErrText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return fmt.Sprint(err)
}
