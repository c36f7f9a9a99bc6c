package demo

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestWriteCopiesEveryFile(t *testing.T) {
	dir := t.TempDir()
	if err := Write(dir); err != nil {
		t.Fatalf("Write: %v", err)
	}
	n := 0
	err := fs.WalkDir(Files(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		want, err := fs.ReadFile(Files(), p)
		if err != nil {
			return err
		}
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			t.Errorf("%s: %v", p, err)
			return nil
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: content on disk differs from the embedded file", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, RootFile)); err != nil {
		t.Errorf("root file: %v", err)
	}
	if n < 20 {
		t.Errorf("got %d files, want at least 20", n)
	}
}

func TestWriteIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	if err := Write(dir); err != nil {
		t.Fatalf("Write: %v", err)
	}
	root := filepath.Join(dir, RootFile)
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	if err := os.Chtimes(root, old, old); err != nil {
		t.Fatal(err)
	}
	changed := filepath.Join(dir, "systems.yaml")
	if err := os.WriteFile(changed, []byte("edited by hand\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	extra := filepath.Join(dir, "mine.yaml")
	if err := os.WriteFile(extra, []byte("kept\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	if err := Write(dir); err != nil {
		t.Fatalf("second Write: %v", err)
	}

	st, err := os.Stat(root)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.ModTime(); !got.Equal(old) {
		t.Errorf("unchanged file was rewritten: modification time got %v, want %v", got, old)
	}
	want, _ := fs.ReadFile(Files(), "systems.yaml")
	if got, _ := os.ReadFile(changed); !bytes.Equal(got, want) {
		t.Errorf("changed file was not restored: got %q", got)
	}
	if got, _ := os.ReadFile(extra); string(got) != "kept\n" {
		t.Errorf("foreign file: got %q, want %q", got, "kept\n")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if name := e.Name(); len(name) > 0 && name[0] == '.' {
			t.Errorf("temporary file left behind: %s", name)
		}
	}
}

func TestWriteRejectsEmptyFolder(t *testing.T) {
	if err := Write(""); err == nil {
		t.Error("Write(\"\"): got nil error, want one")
	}
}
