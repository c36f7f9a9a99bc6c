package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestAnswerCacheEvictsOldestFirst: a full cache drops its oldest answers
// one by one, so the answers asked for most recently survive a variety of
// keys larger than the budget (it is not emptied wholesale).
func TestAnswerCacheEvictsOldestFirst(t *testing.T) {
	now := time.Unix(1000, 0)
	entry := int64(1000)
	c := newAnswerCache(10*(entry+answerOverhead+5), time.Minute, func() time.Time { return now })
	for i := range 25 {
		c.put(fmt.Sprintf("k%04d", i), 1, now, i, entry)
	}
	if n := c.len(); n != 10 {
		t.Fatalf("answers held: got %d, want 10", n)
	}
	for i := range 25 {
		_, ok := c.get(fmt.Sprintf("k%04d", i), 1)
		if want := i >= 15; ok != want {
			t.Errorf("k%04d cached: got %v, want %v", i, ok, want)
		}
	}
	if c.bytes > c.budget {
		t.Errorf("bytes: got %d, want at most %d", c.bytes, c.budget)
	}
}

// TestAnswerCacheGenerationAndAge: an answer is served only in the
// generation it was read in and for less than maxAge; too large an answer
// is not kept.
func TestAnswerCacheGenerationAndAge(t *testing.T) {
	now := time.Unix(1000, 0)
	c := newAnswerCache(1<<20, 5*time.Second, func() time.Time { return now })
	c.put("a", 1, now, "one", 10)
	if v, ok := c.get("a", 1); !ok || v != "one" {
		t.Fatalf("same generation: got %v, %v", v, ok)
	}
	if _, ok := c.get("a", 2); ok {
		t.Fatal("served in a later generation")
	}
	if _, ok := c.get("a", 1); ok {
		t.Fatal("a stale answer was kept")
	}
	c.put("b", 2, now, "two", 10)
	now = now.Add(5 * time.Second)
	if _, ok := c.get("b", 2); ok {
		t.Fatal("served at maxAge")
	}
	c.put("big", 2, now, "x", 1<<20/8)
	if _, ok := c.get("big", 2); ok {
		t.Fatal("an answer of an eighth of the budget was kept")
	}
	off := newAnswerCache(0, time.Minute, nil)
	off.put("a", 1, now, "one", 1)
	if _, ok := off.get("a", 1); ok {
		t.Fatal("a cache without budget served an answer")
	}
}

// TestAnswerCacheSharesMisses: concurrent misses of one key and
// generation run one read; a miss in another generation reads again, and
// failed reads are not kept.
func TestAnswerCacheSharesMisses(t *testing.T) {
	ctx := context.Background()
	c := newAnswerCache(1<<20, time.Minute, nil)
	var mu sync.Mutex
	reads := 0
	release := make(chan struct{})
	started := make(chan struct{})
	read := func(context.Context) (any, int64, error) {
		mu.Lock()
		reads++
		first := reads == 1
		mu.Unlock()
		if first {
			close(started)
			<-release
		}
		return "v", 1, nil
	}
	var wg sync.WaitGroup
	ran := make([]bool, 8)
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, ran[0], _ = c.do(ctx, "k", 1, read)
	}()
	<-started
	for i := 1; i < len(ran); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, ran[i], _ = c.do(ctx, "k", 1, read)
		}()
	}
	// The waiters either join the flight or, once it ended, hit the cache.
	close(release)
	wg.Wait()
	if reads != 1 {
		t.Fatalf("reads: got %d, want 1", reads)
	}
	for i, r := range ran {
		if r != (i == 0) {
			t.Errorf("caller %d ran the read: got %v, want %v", i, r, i == 0)
		}
	}
	if _, ran, _ := c.do(ctx, "k", 2, read); !ran || reads != 2 {
		t.Fatalf("another generation: ran %v, reads %d, want a new read", ran, reads)
	}
	boom := errors.New("boom")
	if _, _, err := c.do(ctx, "e", 2, func(context.Context) (any, int64, error) { return nil, 0, boom }); !errors.Is(err, boom) {
		t.Fatalf("failed read: got %v", err)
	}
	if _, ok := c.get("e", 2); ok {
		t.Fatal("a failed read was cached")
	}
}

// TestAnswerCacheReadsAhead: an answer near its maximum age is still
// served, and the first caller to find it so starts one new read in the
// background, whose answer replaces it; the maximum age still bounds what
// is served.
func TestAnswerCacheReadsAhead(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Unix(1000, 0)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	c := newAnswerCache(1<<20, 10*time.Second, clock)
	c.put("k", 1, now, "old", 3)
	reads := make(chan struct{}, 4)
	read := func(context.Context) (any, int64, error) {
		reads <- struct{}{}
		return "new", 3, nil
	}
	mu.Lock()
	now = now.Add(4 * time.Second) // before half the maximum age: no read
	mu.Unlock()
	if v, ran, _ := c.do(ctx, "k", 1, read); v != "old" || ran {
		t.Fatalf("young answer: got %v (ran %v), want old from the cache", v, ran)
	}
	mu.Lock()
	now = now.Add(5 * time.Second) // 9 s of 10
	mu.Unlock()
	for range 3 {
		if v, ran, _ := c.do(ctx, "k", 1, read); v != "old" || ran {
			t.Fatalf("answer near its maximum age: got %v (ran %v), want old, still served", v, ran)
		}
	}
	<-reads
	for {
		if v, _ := c.get("k", 1); v == "new" {
			break
		}
		runtime.Gosched()
	}
	if n := len(reads); n != 0 {
		t.Errorf("reads ahead: got %d more, want one in all", n)
	}
	mu.Lock()
	now = now.Add(10 * time.Second) // the new answer's maximum age
	mu.Unlock()
	if _, ok := c.get("k", 1); ok {
		t.Error("an answer was served at its maximum age")
	}
}

// TestAnswerCacheQueueStaysSmall: answers replaced again and again (read
// ahead, or read again after a write) do not pile up in the eviction
// queue, nor keep their values there.
func TestAnswerCacheQueueStaysSmall(t *testing.T) {
	now := time.Unix(1000, 0)
	c := newAnswerCache(1<<20, time.Minute, func() time.Time { return now })
	for i := range 10_000 {
		c.put(fmt.Sprintf("k%d", i%3), uint64(1+i/3), now, make([]byte, 100), 100)
	}
	if n := len(c.fifo) - c.head; n > 200 {
		t.Errorf("queue: got %d slots for %d answers, want it compacted", n, c.len())
	}
	for _, a := range c.fifo[c.head:] {
		if a.gone && a.val != nil {
			t.Fatal("a replaced answer keeps its value in the queue")
		}
	}
	if c.len() != 3 || c.bytes != 3*(100+2+answerOverhead) {
		t.Errorf("held: got %d answers of %d bytes, want 3 of %d", c.len(), c.bytes, 3*(100+2+answerOverhead))
	}
}
