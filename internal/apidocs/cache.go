package apidocs

import (
	"container/list"
	"crypto/sha256"
	"html/template"
	"sync"
)

// cache keeps recently rendered definitions, keyed by a hash of the type
// and the text, so an API page costs the parse and render once per change
// of its definition. It is bounded by the bytes of HTML it holds.
type cache struct {
	mu       sync.Mutex
	maxBytes int
	size     int
	order    *list.List // of *cacheEntry, most recent first
	byKey    map[[32]byte]*list.Element
}

type cacheEntry struct {
	key  [32]byte
	html template.HTML
}

func newCache(maxBytes int) *cache {
	return &cache{maxBytes: maxBytes, order: list.New(), byKey: map[[32]byte]*list.Element{}}
}

func cacheKey(apiType, definition string) [32]byte {
	h := sha256.New()
	h.Write([]byte(apiType))
	h.Write([]byte{0})
	h.Write([]byte(definition))
	var k [32]byte
	h.Sum(k[:0])
	return k
}

func (c *cache) get(k [32]byte) (template.HTML, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[k]
	if !ok {
		return "", false
	}
	c.order.MoveToFront(el)
	return el.Value.(*cacheEntry).html, true
}

func (c *cache) put(k [32]byte, h template.HTML) {
	if len(h) > c.maxBytes/4 {
		return // one page may not push out everything else
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byKey[k]; ok {
		return
	}
	c.byKey[k] = c.order.PushFront(&cacheEntry{key: k, html: h})
	c.size += len(h)
	for c.size > c.maxBytes {
		last := c.order.Back()
		e := last.Value.(*cacheEntry)
		c.order.Remove(last)
		delete(c.byKey, e.key)
		c.size -= len(e.html)
	}
}
