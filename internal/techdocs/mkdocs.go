package techdocs

import (
	"fmt"
	"path"
	"strings"

	"go.yaml.in/yaml/v3"
)

// mkdocsConfig is the part of mkdocs.yml that a site uses.
type mkdocsConfig struct {
	SiteName        string
	SiteDescription string
	DocsDir         string
	Nav             []NavItem
	HasNav          bool
}

// NavItem is an entry of a site's navigation: a page, an external link,
// or a section with children.
type NavItem struct {
	Title string
	// Page is the source file ("runbook.md") of a page entry.
	Page string
	// URL is the address a page or link entry leads to.
	URL      string
	Children []NavItem
	// Current marks the page being shown (set per request).
	Current bool
}

// parseMkdocs reads mkdocs.yml. Unknown keys (theme, plugins, markdown
// extensions) are ignored; a nav entry that is neither a page, a link nor
// a section is an error that names it.
func parseMkdocs(src []byte) (mkdocsConfig, error) {
	var raw struct {
		SiteName        string    `yaml:"site_name"`
		SiteDescription string    `yaml:"site_description"`
		DocsDir         string    `yaml:"docs_dir"`
		Nav             yaml.Node `yaml:"nav"`
	}
	if err := yaml.Unmarshal(src, &raw); err != nil {
		return mkdocsConfig{}, fmt.Errorf("mkdocs.yml: %w", err)
	}
	c := mkdocsConfig{SiteName: raw.SiteName, SiteDescription: raw.SiteDescription, DocsDir: raw.DocsDir}
	if c.DocsDir == "" {
		c.DocsDir = "docs"
	}
	if raw.Nav.Kind != 0 {
		nav, err := parseNav(&raw.Nav)
		if err != nil {
			return c, err
		}
		c.Nav, c.HasNav = nav, true
	}
	return c, nil
}

func parseNav(n *yaml.Node) ([]NavItem, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("mkdocs.yml line %d: nav must be a list", n.Line)
	}
	var out []NavItem
	for _, item := range n.Content {
		switch item.Kind {
		case yaml.ScalarNode:
			out = append(out, NavItem{Page: item.Value})
		case yaml.MappingNode:
			if len(item.Content) != 2 {
				return nil, fmt.Errorf("mkdocs.yml line %d: a nav entry maps one title to a page or a list", item.Line)
			}
			title, val := item.Content[0].Value, item.Content[1]
			switch val.Kind {
			case yaml.ScalarNode:
				e := NavItem{Title: title}
				if isExternal(val.Value) {
					e.URL = val.Value
				} else {
					e.Page = val.Value
				}
				out = append(out, e)
			case yaml.SequenceNode:
				children, err := parseNav(val)
				if err != nil {
					return nil, err
				}
				out = append(out, NavItem{Title: title, Children: children})
			default:
				return nil, fmt.Errorf("mkdocs.yml line %d: nav entry %q is neither a page nor a list", val.Line, title)
			}
		default:
			return nil, fmt.Errorf("mkdocs.yml line %d: unexpected nav entry", item.Line)
		}
	}
	return out, nil
}

func isExternal(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// pagePath maps a Markdown source path to its page path: index.md and
// README.md name their folder, other files lose their extension.
func pagePath(src string) string {
	dir, file := path.Split(src)
	base := strings.TrimSuffix(file, path.Ext(file))
	if strings.EqualFold(base, "index") || strings.EqualFold(base, "readme") {
		return strings.TrimSuffix(dir, "/")
	}
	return dir + base
}
