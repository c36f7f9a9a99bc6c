package kube

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
)

// LiveConfig bounds the informers of one cluster.
type LiveConfig struct {
	// MaxScopes is how many namespace and selector pairs are watched at
	// once (default 50); past it the least recently viewed is released.
	MaxScopes int
	// IdleAfter releases a scope nobody viewed for that long (default
	// 10m).
	IdleAfter time.Duration
	// Debounce gathers the changes of a scope before Notify (default
	// 250ms): a rollout is a burst of pod and deployment changes.
	Debounce time.Duration
	// Notify receives the refs of the entities whose workloads changed.
	Notify func(refs []string)
	// Sweep is how often idle scopes are looked for (default a quarter
	// of IdleAfter, at most a minute).
	Sweep time.Duration
	// Now is the clock of idleness (default time.Now).
	Now func() time.Time
	// Go starts Live's goroutines: the sweeper, a scope's shutdown, the
	// debounced Notify (default a go statement). A plugin passes its
	// plugin.Host's Go, so that a panic there (Notify calls the plugin)
	// is recovered and reported instead of ending the process.
	Go func(name string, fn func())
}

// Live serves the workloads of one cluster from shared informers (list
// once, then watch) per viewed scope: a namespace ("" for all) and a
// label selector, as an entity's annotations give them. A page view reads
// the informers' cache and costs no API call; a change of a watched
// object notifies the entities that viewed the scope.
type Live struct {
	c   *Client
	cfg LiveConfig

	mu      sync.Mutex
	scopes  map[scopeKey]*scope
	closed  bool
	janitor bool
	done    chan struct{}
}

type scopeKey struct{ namespace, selector string }

type scope struct {
	key       scopeKey
	factory   dynamicinformer.DynamicSharedInformerFactory
	informers map[schema.GroupVersionResource]cache.SharedIndexInformer
	stop      chan struct{}
	lastView  time.Time
	refs      map[string]time.Time
	synced    bool
	pending   bool
	// err is the last list or watch error before the first listing.
	err error
}

// Live starts nothing: scopes are watched on their first view.
func (c *Client) Live(cfg LiveConfig) *Live {
	if cfg.MaxScopes <= 0 {
		cfg.MaxScopes = 50
	}
	if cfg.IdleAfter <= 0 {
		cfg.IdleAfter = 10 * time.Minute
	}
	if cfg.Debounce <= 0 {
		cfg.Debounce = 250 * time.Millisecond
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sweep <= 0 {
		cfg.Sweep = min(cfg.IdleAfter/4, time.Minute)
	}
	if cfg.Go == nil {
		cfg.Go = func(_ string, fn func()) { go fn() }
	}
	return &Live{c: c, cfg: cfg, scopes: map[scopeKey]*scope{}, done: make(chan struct{})}
}

// kinds are the watched resources of the cluster.
func (l *Live) kinds() []schema.GroupVersionResource {
	k := []schema.GroupVersionResource{GVRDeployment, GVRPod, GVRService}
	if l.c.OpenShift() {
		k = append(k, GVRRoute)
	}
	return k
}

// Workloads returns what matches selector in namespace (all when empty)
// from the informers' cache, watching the scope from now on if it was
// not; ref is the entity viewing it, notified when it changes. The first
// view of a scope waits until its informers have listed (or ctx ends).
func (l *Live) Workloads(ctx context.Context, selector, namespace, ref string) (Workloads, error) {
	if err := ValidSelector(selector); err != nil {
		return Workloads{}, err
	}
	sc, err := l.scope(scopeKey{namespace, selector}, ref)
	if err != nil {
		return Workloads{}, err
	}
	if err := l.waitSynced(ctx, sc); err != nil {
		return Workloads{}, err
	}
	items := func(gvr schema.GroupVersionResource) []unstructured.Unstructured {
		inf := sc.informers[gvr]
		if inf == nil {
			return nil
		}
		var out []unstructured.Unstructured
		for _, o := range inf.GetStore().List() {
			if u, ok := o.(*unstructured.Unstructured); ok {
				out = append(out, *u)
			}
		}
		sort.Slice(out, func(i, j int) bool {
			if out[i].GetNamespace() != out[j].GetNamespace() {
				return out[i].GetNamespace() < out[j].GetNamespace()
			}
			return out[i].GetName() < out[j].GetName()
		})
		return out
	}
	return workloadsOf(items(GVRDeployment), items(GVRPod), items(GVRService), items(GVRRoute)), nil
}

// waitSynced waits until the scope's informers have listed, returning
// at once the error of a failed list or watch before that (the cluster
// is down, refuses the token…).
func (l *Live) waitSynced(ctx context.Context, sc *scope) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		all := true
		for _, inf := range sc.informers {
			all = all && inf.HasSynced()
		}
		l.mu.Lock()
		if all {
			sc.synced = true
		}
		err := sc.err
		l.mu.Unlock()
		if all {
			return nil
		}
		if err != nil {
			// Forget it: the reflector retries, a later view may succeed.
			l.mu.Lock()
			sc.err = nil
			l.mu.Unlock()
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster %s: the watch of %s has not listed yet: %w", l.c.name, describeScope(sc.key), context.Cause(ctx))
		case <-t.C:
		}
	}
}

func describeScope(k scopeKey) string {
	ns := "all namespaces"
	if k.namespace != "" {
		ns = "namespace " + k.namespace
	}
	return fmt.Sprintf("%s in %s", k.selector, ns)
}

// scope returns the scope of k, started if need be, marked viewed by ref.
func (l *Live) scope(k scopeKey, ref string) (*scope, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, fmt.Errorf("cluster %s: live workloads are stopped", l.c.name)
	}
	now := l.cfg.Now()
	sc := l.scopes[k]
	if sc == nil {
		for len(l.scopes) >= l.cfg.MaxScopes {
			l.releaseLocked(l.oldestLocked())
		}
		sc = l.startLocked(k)
		l.scopes[k] = sc
	}
	sc.lastView = now
	if ref != "" {
		sc.refs[ref] = now
	}
	if !l.janitor {
		l.janitor = true
		l.cfg.Go("kube live sweeper", l.sweep)
	}
	return sc, nil
}

func (l *Live) oldestLocked() *scope {
	var old *scope
	for _, sc := range l.scopes {
		if old == nil || sc.lastView.Before(old.lastView) {
			old = sc
		}
	}
	return old
}

func (l *Live) startLocked(k scopeKey) *scope {
	sc := &scope{key: k, stop: make(chan struct{}), refs: map[string]time.Time{}, informers: map[schema.GroupVersionResource]cache.SharedIndexInformer{}}
	sc.factory = dynamicinformer.NewFilteredDynamicSharedInformerFactory(l.c.watchDyn, 0, k.namespace, func(o *metav1.ListOptions) {
		o.LabelSelector = k.selector
	})
	changed := func(any) { l.changed(sc) }
	handler := cache.ResourceEventHandlerFuncs{AddFunc: changed, UpdateFunc: func(_, n any) { l.changed(sc) }, DeleteFunc: changed}
	for _, gvr := range l.kinds() {
		inf := sc.factory.ForResource(gvr).Informer()
		_, _ = inf.AddEventHandler(handler)
		// The reflector retries with backoff; the error is kept for the
		// view waiting for the first listing, not logged each time.
		_ = inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
			l.mu.Lock()
			defer l.mu.Unlock()
			if !sc.synced {
				sc.err = err
			}
		})
		sc.informers[gvr] = inf
	}
	sc.factory.Start(sc.stop)
	return sc
}

func (l *Live) releaseLocked(sc *scope) {
	if sc == nil {
		return
	}
	delete(l.scopes, sc.key)
	close(sc.stop)
	l.cfg.Go("kube live scope shutdown", sc.factory.Shutdown)
}

// changed notifies the scope's viewers, once per Debounce, of changes
// after its first listing.
func (l *Live) changed(sc *scope) {
	l.mu.Lock()
	if !sc.synced || sc.pending || l.cfg.Notify == nil {
		l.mu.Unlock()
		return
	}
	sc.pending = true
	l.mu.Unlock()
	l.cfg.Go("kube live notify", func() {
		t := time.NewTimer(l.cfg.Debounce)
		defer t.Stop()
		select {
		case <-t.C:
		case <-l.done:
			return
		}
		l.mu.Lock()
		sc.pending = false
		refs := make([]string, 0, len(sc.refs))
		for r := range sc.refs {
			refs = append(refs, r)
		}
		closed := l.closed
		l.mu.Unlock()
		sort.Strings(refs)
		if !closed && len(refs) > 0 {
			l.cfg.Notify(refs)
		}
	})
}

// sweep releases idle scopes and forgets idle viewers until Close.
func (l *Live) sweep() {
	t := time.NewTicker(l.cfg.Sweep)
	defer t.Stop()
	for {
		select {
		case <-l.done:
			return
		case <-t.C:
		}
		l.mu.Lock()
		now := l.cfg.Now()
		for _, sc := range l.scopes {
			if now.Sub(sc.lastView) > l.cfg.IdleAfter {
				l.releaseLocked(sc)
				continue
			}
			for r, at := range sc.refs {
				if now.Sub(at) > l.cfg.IdleAfter {
					delete(sc.refs, r)
				}
			}
		}
		l.mu.Unlock()
	}
}

// Scopes is how many scopes are watched now.
func (l *Live) Scopes() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.scopes)
}

// Close stops every informer.
func (l *Live) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.closed = true
	close(l.done)
	for _, sc := range l.scopes {
		l.releaseLocked(sc)
	}
}
