package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
)

// gate is a fetchFunc that holds every statement until the test lets it
// through, and finds the keys that start with "e".
type gate struct {
	calls chan call // each statement, as it starts
	// cancelled receives the keys of a statement whose context ended.
	cancelled chan []string
}

// call is one statement held by a gate: send nil on release to answer
// it, an error to fail it.
type call struct {
	ctx     context.Context
	keys    []string
	release chan error
}

func newGate() *gate {
	return &gate{calls: make(chan call, 100), cancelled: make(chan []string, 100)}
}

func (g *gate) fetch(ctx context.Context, keys []string, row func(string, *catalog.Stored, error)) error {
	c := call{ctx: ctx, keys: slices.Clone(keys), release: make(chan error, 1)}
	g.calls <- c
	select {
	case err := <-c.release:
		if err != nil {
			return err
		}
	case <-ctx.Done():
		g.cancelled <- slices.Clone(keys)
		return dbErr(ctx, ctx.Err(), "read entity")
	}
	seen := map[string]bool{}
	for _, k := range keys {
		if strings.HasPrefix(k, "e") && !seen[k] {
			seen[k] = true
			row(k, &catalog.Stored{Ref: k, Body: []byte("body of " + k), Relations: []catalog.Relation{{Type: "ownedBy", TargetRef: "group:default/" + k}}}, nil)
		}
	}
	return nil
}

// answer is what one get returned.
type answer struct {
	key string
	s   *catalog.Stored
	err error
}

// getAsync runs c.get in a goroutine and delivers its answer on the channel.
func getAsync(ctx context.Context, c *coalescer, key string) <-chan answer {
	ch := make(chan answer, 1)
	go func() {
		s, err := c.get(ctx, key)
		ch <- answer{key, s, err}
	}()
	return ch
}

// waitQueued waits until n lookups wait in c's queue.
func waitQueued(t *testing.T, c *coalescer, n int) {
	t.Helper()
	for {
		c.mu.Lock()
		got := len(c.queue)
		c.mu.Unlock()
		if got == n {
			return
		}
		if got > n {
			t.Fatalf("queued lookups: got %d, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// busy fills c's statement slots with lookups held by g, and returns their
// statements and answers.
func busy(t *testing.T, c *coalescer, g *gate) ([]call, []<-chan answer) {
	t.Helper()
	var calls []call
	var out []<-chan answer
	for i := range lookupStatements {
		out = append(out, getAsync(context.Background(), c, fmt.Sprintf("e-busy-%d", i)))
		calls = append(calls, <-g.calls)
	}
	return calls, out
}

// release answers the busy statements.
func release(t *testing.T, calls []call, answers []<-chan answer) {
	t.Helper()
	for i, cl := range calls {
		cl.release <- nil
		checkFound(t, <-answers[i])
	}
}

func checkFound(t *testing.T, a answer) {
	t.Helper()
	if a.err != nil {
		t.Fatalf("%s: %v", a.key, a.err)
	}
	if a.s == nil || a.s.Ref != a.key || string(a.s.Body) != "body of "+a.key {
		t.Fatalf("%s: got %+v, want the entity %s", a.key, a.s, a.key)
	}
}

func TestCoalescerSendsQueuedLookupsAsOneStatement(t *testing.T) {
	g := newGate()
	c := newCoalescer(context.Background(), 0, g.fetch)
	held, first := busy(t, c, g)

	keys := []string{"e1", "missing", "e2", "e1", "e3"}
	var queued []<-chan answer
	for i, k := range keys {
		queued = append(queued, getAsync(context.Background(), c, k))
		waitQueued(t, c, i+1)
	}
	release(t, held, first)
	got := <-g.calls
	if !slices.Equal(got.keys, keys) {
		t.Fatalf("keys of the batch: got %v, want %v", got.keys, keys)
	}
	got.release <- nil
	answers := make([]answer, len(queued))
	for i, ch := range queued {
		answers[i] = <-ch
	}
	for _, a := range answers {
		if a.key == "missing" {
			if a.s != nil || a.err != nil {
				t.Errorf("missing: got %+v, %v, want nothing and no error", a.s, a.err)
			}
			continue
		}
		checkFound(t, a)
	}
	// The two callers of e1 own their answers.
	if answers[0].s == answers[3].s || &answers[0].s.Body[0] == &answers[3].s.Body[0] ||
		&answers[0].s.Relations[0] == &answers[3].s.Relations[0] {
		t.Errorf("the two lookups of e1 share memory")
	}
	if got, want := c.statements.Load(), int64(lookupStatements+1); got != want {
		t.Errorf("statements: got %d, want %d", got, want)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running != 0 || len(c.queue) != 0 {
		t.Errorf("after the batch: running %d, queued %d, want 0 and 0", c.running, len(c.queue))
	}
}

func TestCoalescerIdleLookupGoesAlone(t *testing.T) {
	g := newGate()
	c := newCoalescer(context.Background(), 0, g.fetch)
	ch := getAsync(context.Background(), c, "e1")
	got := <-g.calls
	if !slices.Equal(got.keys, []string{"e1"}) {
		t.Fatalf("keys: got %v, want [e1]", got.keys)
	}
	got.release <- nil
	checkFound(t, <-ch)
}

func TestCoalescerBoundsBatches(t *testing.T) {
	g := newGate()
	c := newCoalescer(context.Background(), 2, g.fetch)
	held, first := busy(t, c, g)
	var queued []<-chan answer
	for i := range 5 {
		queued = append(queued, getAsync(context.Background(), c, fmt.Sprintf("e%d", i)))
		waitQueued(t, c, i+1)
	}
	release(t, held, first)
	var sizes []int
	for range 3 {
		cl := <-g.calls
		sizes = append(sizes, len(cl.keys))
		cl.release <- nil
	}
	// Both freed slots may drain the queue, in either order.
	slices.Sort(sizes)
	if !slices.Equal(sizes, []int{1, 2, 2}) {
		t.Errorf("batch sizes: got %v, want 2, 2 and 1 in any order", sizes)
	}
	for _, ch := range queued {
		checkFound(t, <-ch)
	}
}

func TestCoalescerBatchErrorReachesEveryCaller(t *testing.T) {
	g := newGate()
	c := newCoalescer(context.Background(), 0, g.fetch)
	held, first := busy(t, c, g)
	var queued []<-chan answer
	for i, k := range []string{"e1", "missing", "e2"} {
		queued = append(queued, getAsync(context.Background(), c, k))
		waitQueued(t, c, i+1)
	}
	release(t, held, first)
	failure := fault.New(fault.Internal, "postgres: read entity: boom")
	(<-g.calls).release <- failure
	for _, ch := range queued {
		a := <-ch
		if a.s != nil || !errors.Is(a.err, failure) {
			t.Errorf("%s: got %+v, %v, want the batch's error", a.key, a.s, a.err)
		}
	}
	// The next lookup is sent alone again and answered.
	ch := getAsync(context.Background(), c, "e4")
	(<-g.calls).release <- nil
	checkFound(t, <-ch)
}

func TestCoalescerCancelledWhileQueued(t *testing.T) {
	g := newGate()
	c := newCoalescer(context.Background(), 0, g.fetch)
	held, first := busy(t, c, g)
	ctx, cancel := context.WithCancel(context.Background())
	gone := getAsync(ctx, c, "e-gone")
	waitQueued(t, c, 1)
	stays := getAsync(context.Background(), c, "e-stays")
	waitQueued(t, c, 2)

	cancel()
	a := <-gone
	if a.s != nil || !fault.Is(a.err, fault.Unavailable) || !errors.Is(a.err, context.Canceled) {
		t.Fatalf("cancelled lookup: got %+v, %v, want Unavailable caused by context.Canceled", a.s, a.err)
	}
	waitQueued(t, c, 1)
	release(t, held, first)
	got := <-g.calls
	if !slices.Equal(got.keys, []string{"e-stays"}) {
		t.Fatalf("keys of the batch: got %v, want [e-stays]", got.keys)
	}
	got.release <- nil
	checkFound(t, <-stays)
}

func TestCoalescerCancelledWhileSent(t *testing.T) {
	g := newGate()
	c := newCoalescer(context.Background(), 0, g.fetch)
	held, first := busy(t, c, g)
	ctx1, cancel1 := context.WithCancel(context.Background())
	ctx2, cancel2 := context.WithTimeout(context.Background(), time.Hour)
	a1 := getAsync(ctx1, c, "e1")
	waitQueued(t, c, 1)
	a2 := getAsync(ctx2, c, "e2")
	waitQueued(t, c, 2)
	held[0].release <- nil
	checkFound(t, <-first[0])
	sent := <-g.calls
	if !slices.Equal(sent.keys, []string{"e1", "e2"}) {
		t.Fatalf("keys of the batch: got %v, want [e1 e2]", sent.keys)
	}

	// One caller gives up: it returns at once; the statement carries on
	// for the other.
	cancel1()
	if a := <-a1; !errors.Is(a.err, context.Canceled) {
		t.Fatalf("e1: got %+v, %v, want context.Canceled", a.s, a.err)
	}
	if err := sent.ctx.Err(); err != nil {
		t.Fatalf("the statement was cancelled while a caller still waited: %v", err)
	}
	// The last one gives up too: the statement is cancelled.
	cancel2()
	if a := <-a2; !errors.Is(a.err, context.Canceled) {
		t.Fatalf("e2: got %+v, %v, want context.Canceled", a.s, a.err)
	}
	if got := <-g.cancelled; !slices.Equal(got, []string{"e1", "e2"}) {
		t.Fatalf("cancelled statement: got %v, want [e1 e2]", got)
	}
	held[1].release <- nil
	checkFound(t, <-first[1])
}

// TestCoalescerConcurrent runs many lookups at once against a fetch that
// answers at once, and checks that each caller gets the answer of its own
// key (run it with -race).
func TestCoalescerConcurrent(t *testing.T) {
	fetch := func(ctx context.Context, keys []string, row func(string, *catalog.Stored, error)) error {
		seen := map[string]bool{}
		for _, k := range keys {
			if seen[k] {
				continue
			}
			seen[k] = true
			switch {
			case strings.HasPrefix(k, "bad"):
				row(k, nil, fault.New(fault.Internal, "unreadable %s", k))
			case strings.HasPrefix(k, "e"):
				row(k, &catalog.Stored{Ref: k, Body: []byte("body of " + k)}, nil)
			}
		}
		return nil
	}
	c := newCoalescer(context.Background(), 4, fetch)
	var wg sync.WaitGroup
	for w := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for range 300 {
				n := rng.IntN(20)
				var key string
				switch rng.IntN(3) {
				case 0:
					key = fmt.Sprintf("e%d", n)
				case 1:
					key = fmt.Sprintf("missing%d", n)
				default:
					key = fmt.Sprintf("bad%d", n)
				}
				s, err := c.get(context.Background(), key)
				switch {
				case strings.HasPrefix(key, "e"):
					if err != nil || s == nil || s.Ref != key || string(s.Body) != "body of "+key {
						t.Errorf("%s: got %+v, %v", key, s, err)
						return
					}
				case strings.HasPrefix(key, "missing"):
					if err != nil || s != nil {
						t.Errorf("%s: got %+v, %v, want nothing", key, s, err)
						return
					}
				default:
					if s != nil || !fault.Is(err, fault.Internal) || !strings.Contains(err.Error(), key) {
						t.Errorf("%s: got %+v, %v, want its own Internal error", key, s, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running != 0 || len(c.queue) != 0 {
		t.Errorf("at the end: running %d, queued %d, want 0 and 0", c.running, len(c.queue))
	}
	t.Logf("%d lookups in %d statements", 32*300, c.statements.Load())
}
