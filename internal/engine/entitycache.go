package engine

import (
	"hash/maphash"
	"sync"

	"github.com/klauspost/compress/s2"
)

// DefaultEntityCacheBytes is the default budget of the entity cache: at
// about 380 bytes an entity of 1 KB (its compressed JSON, ref, uid and
// index), about 110k entities.
const DefaultEntityCacheBytes = 40 << 20

// entityCache keeps the final JSON of entities, by ref and by uid, within
// a byte budget. It holds the entries of one generation of the store cache
// (cachedStore.gen): an entry put under a newer one empties it first, and
// one put or asked for under another is ignored, so every write through
// the engine hides every entry at once. Whether the generation's entries
// may be served at all is decided by the engine (cacheValidity): only
// while a check of the database's change log covers them.
//
// The entries are compact, so that a whole catalog fits: each is its ref,
// its uid and its JSON compressed with S2 against a dictionary made of the
// catalog's own entities (about a third of the JSON's size), appended to
// large pointer-free chunks the collector does not scan; the two indexes
// map a hash of the ref or uid to the entry's slot, and a hit compares the
// key with the one the entry holds. When the budget is exceeded the
// oldest chunk goes, with its entries.
type entityCache struct {
	budget int64 // <= 0: no caching
	// chunkBytes is the size of a chunk: a small part of the budget.
	chunkBytes int

	mu    sync.RWMutex
	gen   uint64
	byRef map[uint64]uint32 // key hash → slot number
	byUID map[uint64]uint32
	// slots[i] is slot number base+i; chunks[j] is chunk number cbase+j.
	slots  []entitySlot
	base   uint32
	chunks []entityChunk
	cbase  uint32
	bytes  int64
	// dict compresses the entries; sample gathers the JSON it is made of
	// until it is long enough (dictSampleBytes).
	dict    *s2.Dict
	dictSet bool // set by the warmer from a sample of every kind
	sample  []byte
}

// entitySlot locates one entry: in chunk, at off, the ref, the uid and
// the (compressed, with dict) JSON of rawLen bytes.
type entitySlot struct {
	chunk, off     uint32
	refLen, uidLen uint16
	dataLen        uint32
	rawLen         uint32
	compressed     bool
}

type entityChunk struct {
	data      []byte
	firstSlot uint32 // number of the first slot whose bytes it holds
}

const (
	maxEntityChunkBytes = 256 << 10
	// slotOverhead is what an entry costs besides its bytes: its slot
	// (24 bytes) and its two index entries (a uint64 key and uint32 value
	// in Go's swiss-table maps, with their load factor).
	slotOverhead = 24 + 2*24
	// dictSampleBytes is how much JSON the dictionary is made of (S2's
	// largest dictionary).
	dictSampleBytes = s2.MaxDictSize
)

var entityHashSeed = maphash.MakeSeed()

func newEntityCache(budget int64) *entityCache {
	return &entityCache{budget: budget, chunkBytes: int(min(max(budget/32, 4<<10), maxEntityChunkBytes)),
		byRef: map[uint64]uint32{}, byUID: map[uint64]uint32{}}
}

func (c *entityCache) enabled() bool { return c != nil && c.budget > 0 }

// get returns the entry under key (a ref, or a uid when byUID) when it was
// put under gen. The caller owns the returned Raw.
func (c *entityCache) get(byUID bool, key string, gen uint64) *Raw {
	return c.lookup(byUID, key, gen, false)
}

// getReleasable is get for a caller that hands the Raw back with
// Raw.Release once it has written it (the by-name and by-uid answers): its
// JSON is decoded into a recycled buffer, with a newline after it
// (Raw.Line), instead of a new zeroed one per hit.
func (c *entityCache) getReleasable(byUID bool, key string, gen uint64) *Raw {
	return c.lookup(byUID, key, gen, true)
}

func (c *entityCache) lookup(byUID bool, key string, gen uint64, releasable bool) *Raw {
	if !c.enabled() {
		return nil
	}
	h := maphash.String(entityHashSeed, key)
	c.mu.RLock()
	if gen != c.gen {
		c.mu.RUnlock()
		return nil
	}
	m := c.byRef
	if byUID {
		m = c.byUID
	}
	n, ok := m[h]
	if !ok {
		c.mu.RUnlock()
		return nil
	}
	s := c.slots[n-c.base]
	data := c.chunks[s.chunk-c.cbase].data
	dict := c.dict
	c.mu.RUnlock()
	// A chunk's written bytes never change: they are read unlocked.
	data = data[s.off : s.off+uint32(s.refLen)+uint32(s.uidLen)+s.dataLen]
	ref := data[:s.refLen]
	uid := data[s.refLen : s.refLen+s.uidLen]
	if byUID && string(uid) != key || !byUID && string(ref) != key {
		return nil // another key with the same hash
	}
	var raw *Raw
	var dst []byte
	if releasable && s.rawLen < maxReleasableJSON {
		raw = rawPool.Get().(*Raw)
		if cap(raw.buf) <= int(s.rawLen) {
			raw.buf = make([]byte, 0, max(int(s.rawLen)+1, 2*cap(raw.buf)))
		}
		dst = raw.buf[:s.rawLen]
	} else {
		raw = &Raw{}
		dst = make([]byte, s.rawLen)
	}
	if byUID {
		raw.UID, raw.Ref = key, string(ref)
	} else {
		raw.Ref, raw.UID = key, string(uid)
	}
	body := data[s.refLen+s.uidLen:]
	if !s.compressed {
		if len(body) != int(s.rawLen) {
			raw.Release()
			return nil
		}
		raw.JSON = dst[:copy(dst, body)]
		return raw
	}
	out, err := dict.Decode(dst, body)
	if err != nil || len(out) != int(s.rawLen) || len(out) > 0 && &out[0] != &dst[0] {
		raw.Release()
		return nil
	}
	raw.JSON = out
	return raw
}

// has reports whether an entry for ref is held under gen.
func (c *entityCache) has(ref string, gen uint64) bool {
	h := maphash.String(entityHashSeed, ref)
	c.mu.RLock()
	defer c.mu.RUnlock()
	_, ok := c.byRef[h]
	return ok && gen == c.gen
}

// encodeBuf holds the scratch space of compressions.
var encodeBuf = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// put remembers raw as read under gen.
func (c *entityCache) put(raw *Raw, gen uint64) {
	if !c.enabled() {
		return
	}
	if len(raw.Ref) > 0xffff || len(raw.UID) > 0xffff || int64(len(raw.JSON)) > c.budget/8 ||
		len(raw.Ref)+len(raw.UID)+len(raw.JSON) > c.chunkBytes {
		return // one entity must not push out a large part of the cache
	}
	c.mu.RLock()
	dict, current := c.dict, gen >= c.gen
	c.mu.RUnlock()
	if !current {
		return
	}
	var body []byte
	var bufp *[]byte
	if dict != nil {
		bufp = encodeBuf.Get().(*[]byte)
		if n := s2.MaxEncodedLen(len(raw.JSON)); cap(*bufp) < n {
			*bufp = make([]byte, n)
		}
		body = dict.EncodeBetter((*bufp)[:cap(*bufp)], raw.JSON)
		defer encodeBuf.Put(bufp)
	} else {
		body = raw.JSON
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen < c.gen || c.dict != dict {
		return // a newer generation, or the dictionary changed meanwhile
	}
	if gen > c.gen {
		c.resetLocked()
		c.gen = gen
	}
	if c.dict == nil && !c.dictSet {
		c.sample = append(c.sample, raw.JSON...)
		if len(c.sample) >= dictSampleBytes {
			c.dict = s2.MakeDict(c.sample[len(c.sample)-dictSampleBytes:], nil)
			c.sample = nil
		}
	}
	c.appendLocked(raw.Ref, raw.UID, body, len(raw.JSON), dict != nil)
}

// appendLocked stores one entry; c.mu is held.
func (c *entityCache) appendLocked(ref, uid string, body []byte, rawLen int, compressed bool) {
	need := len(ref) + len(uid) + len(body)
	if need > c.chunkBytes {
		return
	}
	num := c.base + uint32(len(c.slots))
	if num == ^uint32(0) {
		c.resetLocked() // four billion entries put: number them again
		num = c.base
	}
	if len(c.chunks) == 0 || len(c.chunks[len(c.chunks)-1].data)+need > cap(c.chunks[len(c.chunks)-1].data) {
		c.chunks = append(c.chunks, entityChunk{data: make([]byte, 0, c.chunkBytes), firstSlot: num})
		c.bytes += int64(c.chunkBytes)
	}
	ch := &c.chunks[len(c.chunks)-1]
	off := len(ch.data)
	ch.data = append(ch.data, ref...)
	ch.data = append(ch.data, uid...)
	ch.data = append(ch.data, body...)
	c.slots = append(c.slots, entitySlot{chunk: c.cbase + uint32(len(c.chunks)-1), off: uint32(off),
		refLen: uint16(len(ref)), uidLen: uint16(len(uid)), dataLen: uint32(len(body)), rawLen: uint32(rawLen), compressed: compressed})
	c.bytes += slotOverhead
	c.byRef[maphash.String(entityHashSeed, ref)] = num
	c.byUID[maphash.String(entityHashSeed, uid)] = num
	for c.bytes > c.budget && len(c.chunks) > 1 {
		c.evictLocked()
	}
}

// evictLocked drops the oldest chunk and its entries; c.mu is held.
func (c *entityCache) evictLocked() {
	end := c.chunks[1].firstSlot
	data := c.chunks[0].data
	for num := c.base; num < end; num++ {
		s := c.slots[num-c.base]
		b := data[s.off:]
		ref := string(b[:s.refLen])
		uid := string(b[s.refLen : s.refLen+s.uidLen])
		if h := maphash.String(entityHashSeed, ref); c.byRef[h] == num {
			delete(c.byRef, h)
		}
		if h := maphash.String(entityHashSeed, uid); c.byUID[h] == num {
			delete(c.byUID, h)
		}
	}
	n := int(end - c.base)
	c.bytes -= int64(c.chunkBytes) + int64(n)*slotOverhead
	c.chunks[0] = entityChunk{}
	c.chunks = c.chunks[1:]
	c.cbase++
	c.slots = c.slots[n:]
	c.base = end
	// Let the slices move down once their consumed fronts are most of
	// them, so that their arrays do not grow without bound.
	if cap(c.slots) > 1024 && len(c.slots) < cap(c.slots)/4 {
		c.slots = append(make([]entitySlot, 0, 2*len(c.slots)), c.slots...)
	}
	if cap(c.chunks) > 64 && len(c.chunks) < cap(c.chunks)/4 {
		c.chunks = append(make([]entityChunk, 0, 2*len(c.chunks)), c.chunks...)
	}
}

// resetLocked forgets every entry; c.mu is held.
func (c *entityCache) resetLocked() {
	clear(c.byRef)
	clear(c.byUID)
	c.base += uint32(len(c.slots))
	c.cbase += uint32(len(c.chunks))
	if c.base >= 1<<31 {
		c.base, c.cbase = 0, 0
	}
	c.slots = nil
	c.chunks = nil
	c.bytes = 0
}

// setDict makes d the dictionary of new entries, forgetting the entries
// compressed with another.
func (c *entityCache) setDict(d *s2.Dict) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.resetLocked()
	c.dict, c.dictSet, c.sample = d, true, nil
}

// needsDict reports whether the warmer should make the dictionary.
func (c *entityCache) needsDict() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return !c.dictSet
}

// full reports whether the cache holds as much as its budget allows.
func (c *entityCache) full() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.bytes+int64(c.chunkBytes) > c.budget
}

// stats returns the number of entries and their bytes.
func (c *entityCache) stats() (entries int, bytes int64) {
	if c == nil {
		return 0, 0
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.byRef), c.bytes
}
