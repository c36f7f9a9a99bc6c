package apptest

import (
	"os"
	"path/filepath"
	"testing"
)

// WriteFiles writes files (path relative to the folder → content) into a
// new temporary folder and returns the folder.
func WriteFiles(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	WriteFilesTo(t, dir, files)
	return dir
}

// WriteFilesTo writes files (path relative to dir → content) into dir,
// making the folders they need.
func WriteFilesTo(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
