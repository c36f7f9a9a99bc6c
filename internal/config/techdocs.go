package config

// TechDocs bounds the building of entities' documentation
// (atrium.techdocs).
type TechDocs struct {
	// MaxFiles is the most files one docs folder may hold.
	MaxFiles int
	// MaxFileBytes is the largest page or image; larger ones are skipped.
	MaxFileBytes int64
	// MaxSiteBytes is the most bytes of pages and images per site.
	MaxSiteBytes int64
	// MaxConcurrentBuilds bounds the builds running at once.
	MaxConcurrentBuilds int
	// MaxSites bounds the built sites kept in memory.
	MaxSites int
}

func techDocsDefaults() TechDocs {
	return TechDocs{MaxFiles: 2000, MaxFileBytes: 5 << 20, MaxSiteBytes: 50 << 20, MaxConcurrentBuilds: 2, MaxSites: 200}
}

func (d *decoder) techDocs(n *node, path string, t *TechDocs) {
	d.fields(n, path, map[string]func(*node, string){
		"maxFiles":            func(v *node, p string) { d.integer(v, p, 1, 1_000_000, &t.MaxFiles) },
		"maxFileBytes":        func(v *node, p string) { d.bytes(v, p, &t.MaxFileBytes) },
		"maxSiteBytes":        func(v *node, p string) { d.bytes(v, p, &t.MaxSiteBytes) },
		"maxConcurrentBuilds": func(v *node, p string) { d.integer(v, p, 1, 64, &t.MaxConcurrentBuilds) },
		"maxSites":            func(v *node, p string) { d.integer(v, p, 1, 100_000, &t.MaxSites) },
	})
}
