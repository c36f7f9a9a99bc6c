package backup

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestNames(t *testing.T) {
	at := time.Date(2026, 3, 1, 2, 3, 4, 567_000_000, time.FixedZone("CET", 3600))
	if got, want := Name(at), "atrium-backup-20260301T010304.567Z.tar.gz"; got != want {
		t.Errorf("Name: got %q, want %q", got, want)
	}
	for name, want := range map[string]bool{
		"atrium-backup-20260301T010304.567Z.tar.gz":          true,
		".atrium-backup-20260301T010304.567Z.tar.gz.partial": false,
		"atrium-backup-latest.tar.gz":                        false,
		"../atrium-backup-20260301T010304.567Z.tar.gz":       false,
		"atrium-backup-20260301T010304.567Z.tar":             false,
	} {
		if got := IsName(name); got != want {
			t.Errorf("IsName(%q): got %v, want %v", name, got, want)
		}
	}
}

// cancelAfter cancels its context once n bytes were read.
type cancelAfter struct {
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	if c.n <= 0 {
		c.cancel()
		return len(p), nil
	}
	n := min(len(p), c.n)
	c.n -= n
	return n, nil
}

// TestDirPutCutShort: a Put that stops midway leaves no backup and no
// partial file; one left by a killed process is never listed.
func TestDirPutCutShort(t *testing.T) {
	dir := t.TempDir()
	d := &Dir{Path: dir}
	ctx, cancel := context.WithCancel(context.Background())
	name := Name(time.Now())
	err := d.Put(ctx, name, &cancelAfter{n: 1 << 20, cancel: cancel})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Put: got %v, want context.Canceled", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("folder after a cut-short Put: %v", entries)
	}
	if err := d.Put(context.Background(), name, io.MultiReader(strings.NewReader("x"), errReader{errors.New("read failed")})); err == nil || !strings.Contains(err.Error(), "read failed") {
		t.Errorf("Put of a failing reader: got %v", err)
	}
	// A killed process leaves its partial file behind.
	if err := os.WriteFile(filepath.Join(dir, "."+name+".partial"), []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	list, err := d.List(context.Background())
	if err != nil || len(list) != 0 {
		t.Errorf("List: got %v, %v; want nothing", list, err)
	}
	if _, err := Restore(context.Background(), RestoreParams{Source: Source{Engine: EngineSQLite, SQLitePath: filepath.Join(dir, "x.db")}, Target: d}); err == nil || !strings.Contains(err.Error(), "no backups in") {
		t.Errorf("Restore from a folder holding only a partial file: got %v", err)
	}
}

func TestPrune(t *testing.T) {
	ctx := context.Background()
	d := &Dir{Path: t.TempDir()}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 5; i++ {
		if err := d.Put(ctx, Name(base.Add(time.Duration(i)*time.Hour)), strings.NewReader("b")); err != nil {
			t.Fatal(err)
		}
	}
	deleted, err := Prune(ctx, d, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(deleted) != 3 || deleted[0] != Name(base.Add(2*time.Hour)) {
		t.Errorf("deleted: got %v, want the three oldest, newest first", deleted)
	}
	list, _ := d.List(ctx)
	newestFirst(list)
	if len(list) != 2 || list[0].Name != Name(base.Add(4*time.Hour)) {
		t.Errorf("kept: got %v", list)
	}
	if _, err := Prune(ctx, d, 0); err == nil {
		t.Error("Prune with keep 0 succeeded")
	}

	// A partial file older than a day is a killed backup's and goes; a
	// fresh one may be a backup in progress and stays.
	old := filepath.Join(d.Path, "."+Name(base)+".partial")
	fresh := filepath.Join(d.Path, "."+Name(base.Add(time.Minute))+".partial")
	for _, p := range []string{old, fresh} {
		if err := os.WriteFile(p, []byte("half"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chtimes(old, time.Now().Add(-25*time.Hour), time.Now().Add(-25*time.Hour)); err != nil {
		t.Fatal(err)
	}
	deleted, err = Prune(ctx, d, 2)
	if err != nil || len(deleted) != 1 || deleted[0] != filepath.Base(old) {
		t.Errorf("pruned partial files: got %v, %v; want %s", deleted, err, filepath.Base(old))
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("a fresh partial file was removed: %v", err)
	}
}
