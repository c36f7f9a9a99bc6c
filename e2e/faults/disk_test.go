package faults

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestDiskFull: the data folder (SQLite database and all) is a 24 MiB
// tmpfs. Once it is full, a refresh that writes fails with 503 saying the
// disk is full and writes nothing, reads keep working, and after space is
// freed the same refresh succeeds without a restart. Needs permission to
// mount tmpfs (root); skipped otherwise.
func TestDiskFull(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", data).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (%v: %s); the full-disk test needs root", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", data).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", data, err, out)
		}
	})
	writeEntities := func(name string, n int) string {
		var b bytes.Buffer
		for i := range n {
			fmt.Fprintf(&b, "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: { name: %s-%d, description: %q }\nspec: { type: service, lifecycle: production, owner: team-a }\n",
				name, i, bytes.Repeat([]byte("x"), 200))
		}
		p := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	port := freePort(t)
	cfg := writeConfig(t, dir, port, "  allowedLocationTypes: [file]\ncatalog:\n  processingInterval: false\n")
	// The database goes into the small folder too.
	raw, _ := os.ReadFile(cfg)
	raw = bytes.Replace(raw, []byte(filepath.Join(dir, "atrium.db")), []byte(filepath.Join(data, "atrium.db")), 1)
	if err := os.WriteFile(cfg, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	p := start(t, cfg, port, "atrium.log", nil)
	p.ready(30 * time.Second)
	t.Cleanup(p.kill) // before the umount (cleanups run last first)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log:\n%s", p.tail())
		}
	})

	register := func(name string, n int) (int, []byte) {
		return p.call("POST", "/api/catalog/locations", fmt.Sprintf(`{"type":"file","target":%q}`, writeEntities(name, n)))
	}
	if status, body := register("before", 50); status != 201 {
		t.Fatalf("register before the disk is full: %d %s", status, body)
	}

	filler := filepath.Join(data, "filler")
	fillDisk(t, filler)

	// The location now emits many more entities than fit.
	writeEntities("before", 3000)
	refresh := func() (int, []byte) {
		return p.call("POST", "/api/catalog/refresh", `{"entityRef":"component:default/before-1"}`)
	}
	status, body := refresh()
	if status != 503 || !bytes.Contains(body, []byte("disk of the database is full")) {
		t.Fatalf("refresh on a full disk: got %d %s, want 503 saying the disk is full", status, body)
	}
	if status, body := p.call("GET", "/api/catalog/entities/by-name/component/default/before-1", ""); status != 200 {
		t.Errorf("read on a full disk: got %d, want 200: %s", status, body)
	}
	if status, _ := p.call("GET", "/api/catalog/entities/by-name/component/default/before-2999", ""); status != 404 {
		t.Errorf("an entity of the failed refresh: got %d, want 404 (nothing half-written)", status)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		status, body = refresh()
		if status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("refresh after space was freed: got %d, want 200 within 15 s: %s", status, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if status, body := p.call("GET", "/api/catalog/entities/by-name/component/default/before-2999", ""); status != 200 {
		t.Errorf("an entity written after space was freed: got %d: %s", status, body)
	}
	if p.exited() {
		t.Errorf("atrium exited; log:\n%s", p.tail())
	}
}

// fillDisk writes to path until the file system is full.
func fillDisk(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return
			}
			t.Fatal(err)
		}
	}
}
