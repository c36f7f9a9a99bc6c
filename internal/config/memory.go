package config

// Memory bounds the process's memory (atrium.memory).
type Memory struct {
	// Limit is the soft limit of the Go runtime's memory (heap, goroutine
	// stacks, runtime structures), applied at start with
	// debug.SetMemoryLimit: near it the collector runs more often and
	// returns freed memory to the operating system sooner, instead of
	// letting the heap grow to twice its live size. It does not cover
	// SQLite's page caches (SQLiteReadCache, SQLiteWriteCache) or the
	// binary's mapped pages, which the resident size adds. GOMEMLIMIT in
	// the environment, when set, wins. 0 turns it off.
	Limit int64
	// SQLiteReadCache is the page cache of each SQLite read connection
	// (backend.database.pool.max of them). Under modernc each cached page
	// takes an allocation about twice its size, so the caches cost twice
	// this figure each in resident memory; the operating system caches
	// the file as well.
	SQLiteReadCache int64
}

func memoryDefaults() Memory {
	return Memory{Limit: 128 << 20, SQLiteReadCache: 4 << 20}
}

func (d *decoder) memory(n *node, path string, m *Memory) {
	d.fields(n, path, map[string]func(*node, string){
		"limit": func(v *node, p string) {
			d.bytes(v, p, &m.Limit)
			if m.Limit != 0 && m.Limit < 32<<20 {
				d.fail(v, p, "must be 0 (off) or at least 32MiB")
			}
		},
		"sqliteReadCache": func(v *node, p string) {
			d.bytes(v, p, &m.SQLiteReadCache)
			if m.SQLiteReadCache < 64<<10 || m.SQLiteReadCache > 1<<30 {
				d.fail(v, p, "must be between 64KiB and 1GiB")
			}
		},
	})
}
