package backup

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// The data folder's files a backup carries. Workspaces, the demo catalog
// and plugins are left out: they are rebuilt or reinstalled.
const (
	// keyFile seals task secrets when atrium.secrets.keys is not set;
	// without it the sealed secrets of queued tasks cannot be opened.
	keyFile   = "scaffolder/task-secrets.key"
	keyMember = "data/" + keyFile
	// gitDir holds the embedded git host's repositories, which
	// registered locations of scaffolded components point into.
	gitDir    = "git"
	gitMember = "data/git.tar"
)

type dataFile struct {
	member string
	path   string
}

// collectDataFiles returns the data folder's files to archive, packing the
// git repositories into one tar in tmp.
func collectDataFiles(dataDir, tmp string) ([]dataFile, error) {
	if dataDir == "" {
		return nil, nil
	}
	var out []dataFile
	key := filepath.Join(dataDir, filepath.FromSlash(keyFile))
	if st, err := os.Stat(key); err == nil && st.Mode().IsRegular() {
		out = append(out, dataFile{member: keyMember, path: key})
	}
	src := filepath.Join(dataDir, gitDir)
	if st, err := os.Stat(src); err == nil && st.IsDir() {
		dst := filepath.Join(tmp, "git.tar")
		if err := tarDir(src, dst); err != nil {
			return nil, fmt.Errorf("backup: packing %s: %w", src, err)
		}
		out = append(out, dataFile{member: gitMember, path: dst})
	}
	return out, nil
}

// tarDir writes the regular files and folders under src to a tar at dst.
func tarDir(src, dst string) error {
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil || rel == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		switch {
		case d.IsDir():
			return tw.WriteHeader(&tar.Header{Name: name + "/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: info.ModTime()})
		case info.Mode().IsRegular():
			if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: int64(info.Mode().Perm()), Size: info.Size(), ModTime: info.ModTime()}); err != nil {
				return err
			}
			in, err := os.Open(p)
			if err != nil {
				return err
			}
			defer in.Close()
			_, err = io.CopyN(tw, in, info.Size())
			return err
		}
		// Git repositories hold no symbolic links Atrium needs.
		return nil
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return f.Close()
}

// restoreDataFiles puts the archived data files back under dataDir.
func restoreDataFiles(tmp, dataDir string) error {
	if dataDir == "" {
		return nil
	}
	key := filepath.Join(tmp, filepath.FromSlash(keyMember))
	if data, err := os.ReadFile(key); err == nil {
		dst := filepath.Join(dataDir, filepath.FromSlash(keyFile))
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return err
		}
		if err := writeFileAtomic(dst, data, 0o600); err != nil {
			return err
		}
	}
	gitTar := filepath.Join(tmp, filepath.FromSlash(gitMember))
	if _, err := os.Stat(gitTar); err == nil {
		dst := filepath.Join(dataDir, gitDir)
		staged := dst + ".restoring"
		_ = os.RemoveAll(staged)
		if err := untar(gitTar, staged); err != nil {
			os.RemoveAll(staged)
			return fmt.Errorf("unpacking the git repositories: %w", err)
		}
		old := fmt.Sprintf("%s.before-restore-%d", dst, time.Now().UnixNano())
		if err := os.Rename(dst, old); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if err := os.Rename(staged, dst); err != nil {
			return err
		}
		_ = os.RemoveAll(old)
	}
	return nil
}

func writeFileAtomic(dst string, data []byte, mode os.FileMode) error {
	tmp := dst + ".restoring"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

// untar unpacks the tar at src into dst, refusing names that leave it.
func untar(src, dst string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := path.Clean(strings.TrimSuffix(hdr.Name, "/"))
		if name == ".." || strings.HasPrefix(name, "../") || path.IsAbs(name) {
			return fmt.Errorf("unsafe name %q", hdr.Name)
		}
		p := filepath.Join(dst, filepath.FromSlash(name))
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			out, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(hdr.Mode).Perm()|0o600)
			if err != nil {
				return err
			}
			_, err = io.CopyN(out, tr, hdr.Size)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		}
	}
}
