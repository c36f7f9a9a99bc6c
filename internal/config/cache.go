package config

import "time"

// Cache sizes the catalog's read caches (atrium.cache).
type Cache struct {
	// Entities is the byte budget of the cache of final entity JSON that
	// serves lookups by name and uid; 0 turns it off.
	Entities int64
	// Warm fills the entity cache with every entity (up to its budget)
	// once the catalog is quiet, instead of only on lookups that miss.
	Warm bool
	// Answers is the byte budget of the cache of read answers (facet
	// counts, list totals, first pages of lists, as the API serves them);
	// 0 turns it off.
	Answers int64
	// MaxAge bounds how stale a cached read can be after another replica
	// writes to a shared database: cached entities are served only while
	// a read of the database's change log at most MaxAge old found no
	// change, and the other cached reads (facet counts, list totals,
	// pages) at most MaxAge after they were read. Writes through this
	// process invalidate them at once. 0 turns the read caches off.
	MaxAge time.Duration
}

func cacheDefaults() Cache {
	return Cache{Entities: 40 << 20, Warm: true, Answers: 16 << 20, MaxAge: 5 * time.Second}
}

func (d *decoder) cache(n *node, path string, c *Cache) {
	d.fields(n, path, map[string]func(*node, string){
		"entities": func(v *node, p string) { d.bytes(v, p, &c.Entities) },
		"warm":     func(v *node, p string) { d.boolean(v, p, &c.Warm) },
		"answers":  func(v *node, p string) { d.bytes(v, p, &c.Answers) },
		"maxAge": func(v *node, p string) {
			d.duration(v, p, &c.MaxAge)
			if c.MaxAge < 0 {
				d.fail(v, p, "must not be negative")
			}
		},
	})
}
