package techdocs

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/markdown"
)

// Site is an entity's built documentation.
type Site struct {
	Ref         catalog.Ref
	Name        string
	Description string
	// Base is the URL of the site's index page, ending in a slash.
	Base  string
	Pages []*Page
	Nav   []NavItem
	// Problems are what the build skipped, with the reason (too large,
	// unreadable); the site is still served.
	Problems []string
	BuiltAt  time.Time

	key    string
	docs   string // absolute docs_dir
	byPath map[string]*Page
	assets map[string]int64 // asset path → size
	index  *index
}

// Page is one built page.
type Page struct {
	// Path is the page's path below the site ("" for the index).
	Path string
	// Source is the Markdown file it came from, relative to docs_dir.
	Source   string
	Title    string
	HTML     template.HTML
	Headings []markdown.Heading
	Text     string
	URL      string
}

// Page returns the page at p (a path below the site, with or without a
// trailing slash), or nil.
func (s *Site) Page(p string) *Page {
	return s.byPath[strings.Trim(p, "/")]
}

// assetTypes are the files served from a docs folder besides pages.
var assetTypes = map[string]string{
	".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
	".webp": "image/webp", ".svg": "image/svg+xml", ".ico": "image/x-icon", ".avif": "image/avif",
	".pdf": "application/pdf", ".txt": "text/plain; charset=utf-8",
}

// fingerprint identifies the state of a docs folder: mkdocs.yml and every
// file's path, size and modification time. It reads no file contents.
func fingerprint(dir string, lim Limits) (string, error) {
	h := sha256.New()
	n := 0
	for _, name := range []string{"mkdocs.yml", "mkdocs.yaml"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err == nil {
			fmt.Fprintf(h, "%s\x00%d\x00%d\n", name, fi.Size(), fi.ModTime().UnixNano())
		}
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		n++
		if n > lim.MaxFiles*2 {
			return errTooManyFiles
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		fmt.Fprintf(h, "%s\x00%d\x00%d\n", p, fi.Size(), fi.ModTime().UnixNano())
		return nil
	})
	if err != nil && !errors.Is(err, errTooManyFiles) {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

var errTooManyFiles = errors.New("too many files")

// build reads and renders the site in srcDir (the folder of mkdocs.yml).
// Every file is opened through an os.Root on docs_dir, so neither ../ nor
// a symbolic link can reach outside it.
func build(ref catalog.Ref, srcDir string, lim Limits) (*Site, error) {
	s := &Site{
		Ref:     ref,
		Name:    ref.Name,
		Base:    SiteURL(ref),
		byPath:  map[string]*Page{},
		assets:  map[string]int64{},
		BuiltAt: time.Now(),
	}
	src, err := os.OpenRoot(srcDir)
	if err != nil {
		return nil, fault.Wrap(fault.NotFound, err, "the documentation folder of %s does not exist", ref)
	}
	defer src.Close()
	cfg := mkdocsConfig{DocsDir: "docs"}
	for _, name := range []string{"mkdocs.yml", "mkdocs.yaml"} {
		b, err := src.ReadFile(name)
		if err != nil {
			continue
		}
		if cfg, err = parseMkdocs(b); err != nil {
			return nil, fault.Wrap(fault.Invalid, err, "%s of %s: %s", name, ref, err.Error())
		}
		break
	}
	if cfg.SiteName != "" {
		s.Name = cfg.SiteName
	}
	s.Description = cfg.SiteDescription
	docsRel := filepath.Clean(filepath.FromSlash(cfg.DocsDir))
	docs, err := src.OpenRoot(docsRel)
	if err != nil {
		return nil, fault.Wrap(fault.NotFound, err, "the docs_dir %q of %s cannot be opened", cfg.DocsDir, ref)
	}
	defer docs.Close()
	s.docs = filepath.Join(srcDir, docsRel)

	type mdFile struct {
		rel  string
		size int64
	}
	var mds []mdFile
	files, total := 0, int64(0)
	err = fs.WalkDir(docs.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			s.Problems = append(s.Problems, fmt.Sprintf("%s: %v", p, err))
			return nil
		}
		if d.IsDir() {
			if p != "." && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil // symbolic links and devices are not published
		}
		files++
		if files > lim.MaxFiles {
			return fault.New(fault.TooLarge, "the documentation of %s has more than %d files (atrium.techdocs.maxFiles)", ref, lim.MaxFiles)
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		ext := strings.ToLower(path.Ext(p))
		_, isAsset := assetTypes[ext]
		if ext != ".md" && ext != ".markdown" && !isAsset {
			return nil
		}
		if fi.Size() > lim.MaxFileBytes {
			s.Problems = append(s.Problems, fmt.Sprintf("%s is %d bytes, over the limit of %d (atrium.techdocs.maxFileBytes); it is left out", p, fi.Size(), lim.MaxFileBytes))
			return nil
		}
		total += fi.Size()
		if total > lim.MaxSiteBytes {
			return fault.New(fault.TooLarge, "the documentation of %s is over %d bytes (atrium.techdocs.maxSiteBytes)", ref, lim.MaxSiteBytes)
		}
		if isAsset {
			s.assets[p] = fi.Size()
		} else {
			mds = append(mds, mdFile{rel: p, size: fi.Size()})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(mds, func(i, j int) bool { return mds[i].rel < mds[j].rel })
	for _, f := range mds {
		b, err := docs.ReadFile(f.rel)
		if err != nil {
			s.Problems = append(s.Problems, fmt.Sprintf("%s: %v", f.rel, err))
			continue
		}
		pp := pagePath(f.rel)
		if _, dup := s.byPath[pp]; dup {
			continue // index.md wins over README.md
		}
		page := &Page{Path: pp, Source: f.rel, URL: s.pageURL(pp)}
		doc := markdown.Render(b, markdown.Options{Rewrite: s.rewriter(f.rel)})
		page.HTML, page.Headings, page.Text = doc.HTML, doc.Headings, doc.Text
		page.Title = doc.Title
		if page.Title == "" {
			page.Title = titleFromPath(f.rel)
		}
		s.byPath[pp] = page
		s.Pages = append(s.Pages, page)
	}
	if cfg.HasNav {
		s.Nav = s.resolveNav(cfg.Nav)
	} else {
		s.Nav = s.treeNav()
	}
	s.index = newIndex(s.Pages)
	return s, nil
}

// SiteURL is the address of an entity's documentation.
func SiteURL(r catalog.Ref) string {
	return "/docs/" + url.PathEscape(strings.ToLower(r.Namespace)) + "/" + url.PathEscape(strings.ToLower(r.Kind)) + "/" + url.PathEscape(r.Name) + "/"
}

func (s *Site) pageURL(pp string) string {
	if pp == "" {
		return s.Base
	}
	return s.Base + escapePath(pp) + "/"
}

func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, x := range parts {
		parts[i] = url.PathEscape(x)
	}
	return strings.Join(parts, "/")
}

// rewriter points relative links of the page at from to the site's routes:
// Markdown files to their pages, other files to the asset route. Links
// that climb out of docs_dir are dropped.
func (s *Site) rewriter(from string) func(string, bool) string {
	return func(dest string, image bool) string {
		if dest == "" || strings.HasPrefix(dest, "#") || strings.HasPrefix(dest, "/") || strings.Contains(strings.SplitN(dest, "/", 2)[0], ":") {
			return dest
		}
		target, frag, _ := strings.Cut(dest, "#")
		target, _, _ = strings.Cut(target, "?")
		if t, err := url.PathUnescape(target); err == nil {
			target = t
		}
		joined := path.Join(path.Dir(from), target)
		if joined == ".." || strings.HasPrefix(joined, "../") {
			return "#"
		}
		if frag != "" {
			frag = "#" + frag
		}
		ext := strings.ToLower(path.Ext(joined))
		if !image && (ext == ".md" || ext == ".markdown") {
			return s.pageURL(pagePath(joined)) + frag
		}
		if !image && ext == "" {
			// A link to a folder or an extension-less page path.
			return s.pageURL(strings.TrimSuffix(joined, "/")) + frag
		}
		return s.Base + escapePath(joined)
	}
}

// resolveNav turns mkdocs nav entries into links; pages it names that do
// not exist are reported and left out.
func (s *Site) resolveNav(items []NavItem) []NavItem {
	var out []NavItem
	for _, it := range items {
		switch {
		case it.Children != nil:
			it.Children = s.resolveNav(it.Children)
			out = append(out, it)
		case it.URL != "":
			out = append(out, it)
		default:
			p := s.byPath[pagePath(path.Clean(it.Page))]
			if p == nil {
				s.Problems = append(s.Problems, fmt.Sprintf("mkdocs.yml nav names %s, which does not exist", it.Page))
				continue
			}
			if it.Title == "" {
				it.Title = p.Title
			}
			it.URL = p.URL
			out = append(out, it)
		}
	}
	return out
}

// treeNav builds a nav from the files: pages of a folder before its
// subfolders, the index first, folders as sections.
func (s *Site) treeNav() []NavItem {
	type node struct {
		item NavItem
		kids []*node
	}
	root := &node{}
	sections := map[string]*node{".": root}
	var section func(dir string) *node
	section = func(dir string) *node {
		if n, ok := sections[dir]; ok {
			return n
		}
		parent := section(path.Dir(dir))
		n := &node{item: NavItem{Title: titleFromPath(path.Base(dir))}}
		parent.kids = append(parent.kids, n)
		sections[dir] = n
		return n
	}
	pages := append([]*Page(nil), s.Pages...)
	isIndex := func(p *Page) bool { return p.Path == strings.TrimSuffix(path.Dir(p.Source), ".") }
	sort.SliceStable(pages, func(i, j int) bool {
		a, b := pages[i], pages[j]
		if da, db := strings.Count(a.Source, "/"), strings.Count(b.Source, "/"); da != db {
			return da < db
		}
		if da, db := path.Dir(a.Source), path.Dir(b.Source); da != db {
			return da < db
		}
		if isIndex(a) != isIndex(b) {
			return isIndex(a)
		}
		return a.Source < b.Source
	})
	for _, p := range pages {
		sec := section(path.Dir(p.Source))
		sec.kids = append(sec.kids, &node{item: NavItem{Title: p.Title, Page: p.Source, URL: p.URL}})
	}
	var flatten func(n *node) []NavItem
	flatten = func(n *node) []NavItem {
		var out []NavItem
		for _, k := range n.kids {
			it := k.item
			if len(k.kids) > 0 {
				it.Children = flatten(k)
			}
			out = append(out, it)
		}
		return out
	}
	return flatten(root)
}

// titleFromPath makes a title of a file name: "getting-started.md" →
// "Getting started".
func titleFromPath(p string) string {
	base := path.Base(p)
	base = strings.TrimSuffix(base, path.Ext(base))
	base = strings.NewReplacer("-", " ", "_", " ").Replace(base)
	if base == "" {
		return p
	}
	return strings.ToUpper(base[:1]) + base[1:]
}
