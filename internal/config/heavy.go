package config

import (
	"strings"
	"time"
)

// The kinds of heavy operation that atrium.limits.heavy bounds.
const (
	HeavyIngestion = "ingestion" // POST /refresh, POST /locations
	HeavyTasks     = "tasks"     // creating a scaffolder task
	HeavyTechDocs  = "techdocs"  // building an entity's documentation
	HeavyBackup    = "backup"    // a backup started through the API
)

// HeavyKinds lists the kinds atrium.limits.heavy accepts.
var HeavyKinds = []string{HeavyIngestion, HeavyTasks, HeavyTechDocs, HeavyBackup}

// Heavy bounds one kind of heavy operation (atrium.limits.heavy.<kind>):
// Concurrency run at once, Queue more wait for a slot, each at most
// MaxWait; a request beyond that is answered 503 with Retry-After.
type Heavy struct {
	Concurrency int
	Queue       int
	MaxWait     time.Duration
}

func heavyDefaults() map[string]Heavy {
	return map[string]Heavy{
		HeavyIngestion: {Concurrency: 2, Queue: 16, MaxWait: 30 * time.Second},
		HeavyTasks:     {Concurrency: 8, Queue: 64, MaxWait: 10 * time.Second},
		HeavyTechDocs:  {Concurrency: 2, Queue: 16, MaxWait: 30 * time.Second},
		HeavyBackup:    {Concurrency: 1, Queue: 0, MaxWait: 0},
	}
}

func (d *decoder) heavy(n *node, path string, out *map[string]Heavy) {
	if *out == nil {
		*out = heavyDefaults()
	}
	handlers := map[string]func(*node, string){}
	for _, kind := range HeavyKinds {
		handlers[kind] = func(v *node, p string) {
			h := (*out)[kind]
			d.fields(v, p, map[string]func(*node, string){
				"concurrency": func(v *node, p string) { d.integer(v, p, 1, 10_000, &h.Concurrency) },
				"queue":       func(v *node, p string) { d.integer(v, p, 0, 1_000_000, &h.Queue) },
				"maxWait": func(v *node, p string) {
					d.duration(v, p, &h.MaxWait)
					if h.MaxWait < 0 {
						d.fail(v, p, "must not be negative")
					}
				},
			})
			(*out)[kind] = h
		}
	}
	if n.kind == kindMap {
		for _, k := range n.keys {
			if _, ok := handlers[k]; !ok {
				handlers[k] = func(v *node, p string) {
					d.fail(v, p, "unknown kind of heavy operation; the kinds are %s", strings.Join(HeavyKinds, ", "))
				}
			}
		}
	}
	d.fields(n, path, handlers)
}
