package engine

import "sync"

// ChangeKind says what happened to the entities of a ChangeEvent.
type ChangeKind string

// The change kinds.
const (
	ChangeUpsert ChangeKind = "upsert"
	ChangeDelete ChangeKind = "delete"
)

// ChangeEvent reports entities that were written or deleted.
type ChangeEvent struct {
	Kind ChangeKind
	Refs []string
	// Overflow is set on the first event a subscriber receives after events
	// were dropped because it was slow: it should treat everything as changed.
	Overflow bool
}

type subscriber struct {
	ch     chan ChangeEvent
	missed bool
}

type subscribers struct {
	mu   sync.Mutex
	list map[*subscriber]struct{}
	// forward, when set, also sends local changes to other replicas
	// (Cluster.Publish); it must not block.
	forward func(ChangeEvent)
}

// Subscribe returns a channel of change events holding up to buffer events
// (minimum 1), and a function that ends the subscription. The engine never
// waits for a subscriber: when the channel is full, events are dropped and
// the next delivered one has Overflow set.
func (e *Engine) Subscribe(buffer int) (<-chan ChangeEvent, func()) {
	if buffer < 1 {
		buffer = 1
	}
	s := &subscriber{ch: make(chan ChangeEvent, buffer)}
	e.subs.mu.Lock()
	if e.subs.list == nil {
		e.subs.list = map[*subscriber]struct{}{}
	}
	e.subs.list[s] = struct{}{}
	e.subs.mu.Unlock()
	var once sync.Once
	return s.ch, func() {
		once.Do(func() {
			e.subs.mu.Lock()
			if _, ok := e.subs.list[s]; ok {
				delete(e.subs.list, s)
				close(s.ch)
			}
			e.subs.mu.Unlock()
		})
	}
}

// publish delivers a change made here to every subscriber without
// blocking, and forwards it to the other replicas.
func (s *subscribers) publish(kind ChangeKind, refs []string) {
	if len(refs) == 0 {
		return
	}
	if s.forward != nil {
		s.forward(ChangeEvent{Kind: kind, Refs: refs})
	}
	s.deliver(kind, refs)
}

// deliverAll tells every subscriber that anything may have changed.
func (s *subscribers) deliverAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sub := range s.list {
		select {
		case sub.ch <- ChangeEvent{Overflow: true}:
			sub.missed = false
		default:
			sub.missed = true
		}
	}
}

// deliver hands an event to every subscriber without blocking.
func (s *subscribers) deliver(kind ChangeKind, refs []string) {
	if len(refs) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for sub := range s.list {
		ev := ChangeEvent{Kind: kind, Refs: refs, Overflow: sub.missed}
		select {
		case sub.ch <- ev:
			sub.missed = false
		default:
			sub.missed = true
		}
	}
}

func (s *subscribers) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sub := range s.list {
		close(sub.ch)
		delete(s.list, sub)
	}
}
