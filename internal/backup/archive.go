package backup

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// archiveWriter writes a tar.gz, remembering each member's size and hash
// for the manifest.
type archiveWriter struct {
	gz      *gzip.Writer
	tw      *tar.Writer
	members []Member
}

func newArchiveWriter(w io.Writer) *archiveWriter {
	gz := gzip.NewWriter(w)
	return &archiveWriter{gz: gz, tw: tar.NewWriter(gz)}
}

// addFile copies the file at src into the archive as name.
func (a *archiveWriter) addFile(name, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	return a.add(name, st.Size(), f)
}

// add writes size bytes from r as member name.
func (a *archiveWriter) add(name string, size int64, r io.Reader) error {
	hdr := &tar.Header{Name: name, Mode: 0o600, Size: size, ModTime: time.Now().UTC(), Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	if err := a.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("archive member %s: %w", name, err)
	}
	h := sha256.New()
	n, err := io.Copy(a.tw, io.TeeReader(r, h))
	if err != nil {
		return fmt.Errorf("archive member %s: %w", name, err)
	}
	if n != size {
		return fmt.Errorf("archive member %s: wrote %d bytes, expected %d", name, n, size)
	}
	a.members = append(a.members, Member{Name: name, Size: size, SHA256: hex.EncodeToString(h.Sum(nil))})
	return nil
}

// finish writes the manifest (with the members written so far) and closes
// the archive.
func (a *archiveWriter) finish(m *Manifest) error {
	m.Members = a.members
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	hdr := &tar.Header{Name: ManifestName, Mode: 0o600, Size: int64(len(data)), ModTime: time.Now().UTC(), Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	if err := a.tw.WriteHeader(hdr); err != nil {
		return err
	}
	if _, err := a.tw.Write(data); err != nil {
		return err
	}
	if err := a.tw.Close(); err != nil {
		return err
	}
	return a.gz.Close()
}

// CorruptError reports an archive that failed verification; Member names
// the member at fault ("" when the archive as a whole is unreadable).
type CorruptError struct {
	Backup string
	Member string
	Reason string
}

func (e *CorruptError) Error() string {
	if e.Member == "" {
		return fmt.Sprintf("backup %s is damaged: %s; nothing was restored", e.Backup, e.Reason)
	}
	return fmt.Sprintf("backup %s is damaged: member %s: %s; nothing was restored", e.Backup, e.Member, e.Reason)
}

// extract reads the archive r into dir, checking every member against the
// manifest, and returns the manifest. Nothing outside dir is written.
func extract(name string, r io.Reader, dir string, maxBytes int64) (m *Manifest, err error) {
	corrupt := func(member, format string, args ...any) error {
		return &CorruptError{Backup: name, Member: member, Reason: fmt.Sprintf(format, args...)}
	}
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, corrupt("", "not a gzip stream: %v", err)
	}
	tr := tar.NewReader(gz)
	got := map[string]Member{}
	var manifest []byte
	var total int64
	last := ""
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if last == "" {
				return nil, corrupt("", "reading the first member: %v", err)
			}
			return nil, corrupt(last, "reading the member after it: %v", err)
		}
		if hdr.Typeflag != tar.TypeReg {
			return nil, corrupt(hdr.Name, "is not a regular file")
		}
		clean := path.Clean(hdr.Name)
		if clean != hdr.Name || strings.HasPrefix(clean, "../") || path.IsAbs(clean) || clean == ".." {
			return nil, corrupt(hdr.Name, "has an unsafe name")
		}
		if _, dup := got[clean]; dup || (clean == ManifestName && manifest != nil) {
			return nil, corrupt(clean, "appears twice")
		}
		total += hdr.Size
		if total > maxBytes {
			return nil, corrupt(clean, "the archive holds more than %d bytes", maxBytes)
		}
		last = clean
		if clean == ManifestName {
			if manifest, err = io.ReadAll(io.LimitReader(tr, 16<<20)); err != nil {
				return nil, corrupt(clean, "%v", err)
			}
			continue
		}
		if manifest != nil {
			return nil, corrupt(clean, "follows the manifest")
		}
		dst := filepath.Join(dir, filepath.FromSlash(clean))
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return nil, err
		}
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(f, h), tr)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, corrupt(clean, "%v", err)
		}
		got[clean] = Member{Name: clean, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}
	}
	// Reading to the end checks the gzip trailer (CRC-32 and length); a
	// member whose checksum differs names the damage more precisely, so
	// the trailer's verdict comes last.
	_, trailerErr := io.Copy(io.Discard, gz)
	if manifest == nil {
		if trailerErr != nil {
			return nil, corrupt(last, "after it: %v", trailerErr)
		}
		return nil, corrupt(ManifestName, "is missing: the backup is incomplete")
	}
	m, err = parseManifest(manifest)
	if err != nil {
		return nil, corrupt(ManifestName, "%v", err)
	}
	defer func() {
		if trailerErr != nil && err == nil {
			m, err = nil, corrupt(last, "after it: %v", trailerErr)
		}
	}()
	for _, want := range m.Members {
		have, ok := got[want.Name]
		if !ok {
			return nil, corrupt(want.Name, "is listed in the manifest but missing")
		}
		if have.Size != want.Size || have.SHA256 != want.SHA256 {
			return nil, corrupt(want.Name, "checksum mismatch (sha256 %s, manifest says %s)", have.SHA256, want.SHA256)
		}
		delete(got, want.Name)
	}
	for n := range got {
		return nil, corrupt(n, "is not listed in the manifest")
	}
	return m, nil
}
