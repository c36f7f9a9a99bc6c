package ui

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
)

//go:embed static
var staticFS embed.FS

// asset is one embedded static file with its content hash.
type asset struct {
	body  []byte
	ctype string
	hash  string
}

// assets are the embedded files under /static/, by name.
type assets map[string]asset

func loadAssets() (assets, error) {
	out := assets{}
	entries, err := fs.ReadDir(staticFS, "static")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := staticFS.ReadFile("static/" + e.Name())
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b)
		ctype := mime.TypeByExtension(path.Ext(e.Name()))
		switch path.Ext(e.Name()) {
		case ".webmanifest":
			ctype = "application/manifest+json"
		case ".svg":
			ctype = "image/svg+xml"
		case ".js":
			ctype = "text/javascript; charset=utf-8"
		case ".css":
			ctype = "text/css; charset=utf-8"
		}
		out[e.Name()] = asset{body: b, ctype: ctype, hash: hex.EncodeToString(sum[:6])}
	}
	return out, nil
}

// url returns the versioned URL of a static file; a template that names a
// missing file fails at start-up through parseTemplates' check.
func (a assets) url(name string) (string, error) {
	f, ok := a[name]
	if !ok {
		return "", fmt.Errorf("ui: no static file %q", name)
	}
	return "/static/" + name + "?v=" + f.hash, nil
}

// static serves an embedded file. Versioned URLs are cached for a year;
// the version changes with the content.
func (u *UI) static(w http.ResponseWriter, r *http.Request) {
	f, ok := u.asset[r.PathValue("name")]
	if !ok {
		u.notFound(w, r, "There is no static file "+r.PathValue("name")+".")
		return
	}
	u.serveAsset(w, r, f)
}

func (u *UI) serveAsset(w http.ResponseWriter, r *http.Request, f asset) {
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", `"`+f.hash+`"`)
	if r.URL.Query().Get("v") == f.hash {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	if r.Header.Get("If-None-Match") == `"`+f.hash+`"` {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(f.body)))
	_, _ = w.Write(f.body)
}

// manifest serves the web app manifest at the root, where browsers look.
func (u *UI) manifest(w http.ResponseWriter, r *http.Request) {
	u.serveAsset(w, r, u.asset["manifest.webmanifest"])
}

// favicon answers browsers that ask for /favicon.ico with the SVG icon.
func (u *UI) favicon(w http.ResponseWriter, r *http.Request) {
	u.serveAsset(w, r, u.asset["icon.svg"])
}
