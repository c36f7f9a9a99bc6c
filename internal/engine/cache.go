package engine

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"sync"
	"sync/atomic"
	"time"
)

// Stats are counters of the engine's work since it started.
type Stats struct {
	// FilesParsed counts location targets read and parsed.
	FilesParsed int64
	// FilesReused counts targets read but unchanged since their last
	// processing, whose remembered results were used.
	FilesReused int64
	// Passes counts processing passes over the static and registered
	// locations (the first ingest, then each periodic refresh); PassErrors
	// those that reported an error.
	Passes, PassErrors int64
	// LastPass is how long the last finished pass took; LastPassEnd when it
	// finished (zero before the first).
	LastPass    time.Duration
	LastPassEnd time.Time
	// EntityCacheBytes is what the entity cache holds now.
	EntityCacheBytes int64
	// FirstLoad is set while a first bulk load into an empty catalog runs
	// (its writes and the index build after them).
	FirstLoad bool
}

type counters struct {
	filesParsed atomic.Int64
	filesReused atomic.Int64
	passes      atomic.Int64
	passErrors  atomic.Int64
	lastPass    atomic.Int64 // nanoseconds
	lastPassEnd atomic.Int64 // Unix nanoseconds
	firstLoad   atomic.Bool
}

// Stats returns the engine's counters.
func (e *Engine) Stats() Stats {
	c := &e.counters
	st := Stats{
		FilesParsed: c.filesParsed.Load(), FilesReused: c.filesReused.Load(),
		Passes: c.passes.Load(), PassErrors: c.passErrors.Load(),
		LastPass:  time.Duration(c.lastPass.Load()),
		FirstLoad: c.firstLoad.Load(),
	}
	if end := c.lastPassEnd.Load(); end != 0 {
		st.LastPassEnd = time.Unix(0, end)
	}
	_, st.EntityCacheBytes = e.ents.stats()
	return st
}

// timedPass runs one processing pass and records it in the counters.
func (e *Engine) timedPass(pass func() error) error {
	start := time.Now()
	err := pass()
	end := time.Now()
	e.counters.passes.Add(1)
	if err != nil {
		e.counters.passErrors.Add(1)
	}
	e.counters.lastPass.Store(int64(end.Sub(start)))
	e.counters.lastPassEnd.Store(end.UnixNano())
	return err
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
	sum  [sha256.Size]byte
	refs []string
	// hashes are the entities' hashes as raw bytes (the store keeps them
	// base64-encoded, hashSum): 32 bytes each in one pointer-free array
	// instead of a 43-byte string and its header, for every entity of
	// every remembered file.
	hashes [][sha256.Size]byte
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
	hashes [][sha256.Size]byte
	bad    bool
}

// hashSum decodes an entity hash (bodyHash: unpadded URL base64 of a
// SHA-256 sum) into its bytes, without allocating; ok is false for any
// other string.
func hashSum(hash string) (sum [sha256.Size]byte, ok bool) {
	var buf [hashLen]byte
	if len(hash) != hashLen {
		return sum, false
	}
	copy(buf[:], hash)
	n, err := base64.RawURLEncoding.Decode(sum[:], buf[:])
	return sum, err == nil && n == sha256.Size
}

// hashIs reports whether hash is the encoding of sum, without allocating.
func hashIs(hash string, sum *[sha256.Size]byte) bool {
	var buf [hashLen]byte
	base64.RawURLEncoding.Encode(buf[:], sum[:])
	return string(buf[:]) == hash
}

// hashLen is the length of an encoded entity hash: 32 bytes in unpadded
// base64, base64.RawURLEncoding.EncodedLen(sha256.Size).
const hashLen = (sha256.Size*8 + 5) / 6
