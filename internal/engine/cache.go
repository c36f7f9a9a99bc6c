package engine

import (
	"bytes"
	"crypto/sha256"
	"sync"
	"sync/atomic"
)

// Stats are counters of the engine's work since it started.
type Stats struct {
	// FilesParsed counts location targets read and parsed.
	FilesParsed int64
	// FilesReused counts targets read but unchanged since their last
	// processing, whose remembered results were used.
	FilesReused int64
}

type counters struct {
	filesParsed atomic.Int64
	filesReused atomic.Int64
}

// Stats returns the engine's counters.
func (e *Engine) Stats() Stats {
	return Stats{FilesParsed: e.counters.filesParsed.Load(), FilesReused: e.counters.filesReused.Load()}
}

// fileCache remembers, for each file read, a hash of its content and what
// its documents became, so that re-reading an unchanged file costs the read
// and one state check instead of parsing and processing. Only files whose
// every document was written or unchanged without any error, conflict or
// Location entity, and which hold no placeholders, are remembered; when
// the store disagrees with a remembered entity, the file is processed again.
type fileCache struct {
	mu sync.Mutex
	m  map[string]*cacheEntry
}

type cacheEntry struct {
	sum    [sha256.Size]byte
	refs   []string
	hashes []string
}

// cacheKey names a target in its processing context: the stamped origin
// and the location rules are checked against change what it yields.
func cacheKey(u *unit) string {
	k := u.target.String()
	if u.scope != nil {
		k += "\x00" + u.scope.origin + "\x00" + u.scope.ruleOrigin.String()
	}
	return k
}

func (c *fileCache) get(key string) *cacheEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[key]
}

func (c *fileCache) put(key string, e *cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*cacheEntry{}
	}
	c.m[key] = e
}

func (c *fileCache) drop(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, key)
}

// cacheable reports whether file content may be remembered: content with
// placeholders depends on other files.
func cacheable(data []byte) bool {
	return !bytes.Contains(data, []byte("$text")) && !bytes.Contains(data, []byte("$json")) && !bytes.Contains(data, []byte("$yaml"))
}

// unitTrack follows what one read target yielded during a pass, to decide
// whether to remember it.
type unitTrack struct {
	sum    [sha256.Size]byte
	docs   int
	refs   []string
	hashes []string
	bad    bool
}
