// Package demo holds the demo catalog that Atrium's embedded default
// configuration serves: Northwind Logistics, a fictional parcel company with
// business units and teams, people, domains, systems, components, APIs and
// resources that reference each other the way a real catalog does.
//
// The catalog is embedded in the binary and written to disk by Write, so that
// it is ingested through an ordinary `file` location like any user catalog.
package demo

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// RootFile is the Location descriptor at the root of the demo tree; every
// other descriptor is reached from it by a relative target.
const RootFile = "all.yaml"

//go:embed catalog
var embedded embed.FS

// Files returns the demo tree, rooted at the folder that holds RootFile.
func Files() fs.FS {
	sub, err := fs.Sub(embedded, "catalog")
	if err != nil {
		// fs.Sub fails only for an invalid path, and "catalog" is valid.
		panic(err)
	}
	return sub
}

// Write writes the demo tree into dir, creating it if needed. A file whose
// content on disk already matches is left alone, so calling Write on every
// start costs a read of each file and changes nothing; a file that differs is
// replaced atomically. Files in dir that are not part of the demo are kept.
func Write(dir string) error {
	if dir == "" {
		return fmt.Errorf("demo: write: no folder given")
	}
	src := Files()
	return fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if d.IsDir() {
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return fmt.Errorf("demo: write: %w", err)
			}
			return nil
		}
		want, err := fs.ReadFile(src, p)
		if err != nil {
			return fmt.Errorf("demo: write: %w", err)
		}
		if have, err := os.ReadFile(dst); err == nil && bytes.Equal(have, want) {
			return nil
		}
		return writeAtomic(dst, want)
	})
}

// writeAtomic replaces path with data through a temporary file in the same
// folder, so that a reader never sees a half-written descriptor.
func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("demo: write %s: %w", path, err)
	}
	name := tmp.Name()
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(name, 0o644)
	}
	if werr == nil {
		werr = os.Rename(name, path)
	}
	if werr != nil {
		os.Remove(name)
		return fmt.Errorf("demo: write %s: %w", path, werr)
	}
	return nil
}
