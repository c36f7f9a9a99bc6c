package config

import "time"

// Cache sizes the catalog's read caches (atrium.cache).
type Cache struct {
	// Entities is the byte budget of the cache of final entity JSON that
	// serves lookups by name and uid; 0 turns it off.
	Entities int64
	// Answers is the byte budget of the cache of read answers (facet
	// counts, list totals, first pages of lists, as the API serves them);
	// 0 turns it off.
	Answers int64
	// MaxAge bounds how long a cached read (entities, facet counts, list
	// totals) is served while nothing is written through this process: it
	// bounds how stale a read can be after another replica writes to a
	// shared database. 0 turns the read caches off.
	MaxAge time.Duration
}

func cacheDefaults() Cache {
	return Cache{Entities: 16 << 20, Answers: 16 << 20, MaxAge: 5 * time.Second}
}

func (d *decoder) cache(n *node, path string, c *Cache) {
	d.fields(n, path, map[string]func(*node, string){
		"entities": func(v *node, p string) { d.bytes(v, p, &c.Entities) },
		"answers":  func(v *node, p string) { d.bytes(v, p, &c.Answers) },
		"maxAge": func(v *node, p string) {
			d.duration(v, p, &c.MaxAge)
			if c.MaxAge < 0 {
				d.fail(v, p, "must not be negative")
			}
		},
	})
}
