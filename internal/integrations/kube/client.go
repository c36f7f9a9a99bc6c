// Package kube is Atrium's client of Kubernetes and OpenShift clusters:
// one Client per configured cluster, built on client-go's dynamic client,
// discovery and a discovery-backed RESTMapper so that any manifest can be
// applied (server-side apply with the field manager "atrium") and
// OpenShift and OLM types are used as unstructured objects without their
// Go types. It holds no HTTP handlers; the plugin plugins/openshift uses
// it, and kubesim is the simulator it is tested against.
package kube

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/atrium-portal/atrium/internal/integrations/breaker"
)

// FieldManager is the manager of the fields Atrium applies.
const FieldManager = "atrium"

// Kinds of cluster.
const (
	KindOpenShift  = "openshift"
	KindKubernetes = "kubernetes"
)

// Config is one cluster.
type Config struct {
	// Name identifies the cluster in inputs, logs and the card.
	Name string
	// URL is the API server's URL (https://api.cluster:6443).
	URL string
	// Token is the bearer token (a service account's).
	Token string
	// CAData is the PEM of the CA that signed the API server's
	// certificate (empty: the system's roots).
	CAData []byte
	// Kind is KindOpenShift or KindKubernetes.
	Kind string
	// Timeout bounds one request (default 30s).
	Timeout time.Duration
	// MaxRetries is how many times a GET answered 5xx is retried (default
	// 3; -1: none). client-go itself retries 429 and 5xx answers carrying
	// Retry-After.
	MaxRetries int
	// Transport, when set, does the requests (the demo's in-process
	// simulator); CAData is then ignored.
	Transport http.RoundTripper
	// BreakerThreshold is how many failed requests in a row (no answer,
	// or 5xx after the retries) open the cluster's circuit breaker
	// (default 5; -1: no breaker).
	BreakerThreshold int
	// BreakerCooldown is how long the open breaker refuses requests
	// before it lets one probe through (default 30s).
	BreakerCooldown time.Duration
	// PageSize is how many objects one list request asks for (default
	// 250).
	PageSize int64
	// QPS and Burst limit the requests to the cluster (default 20 / 40).
	QPS   float32
	Burst int
}

// Client talks to one cluster.
type Client struct {
	name string
	kind string
	url  string
	dyn  dynamic.Interface
	disc discovery.DiscoveryInterface
	// watchDyn is dyn without a request timeout, for informers.
	watchDyn dynamic.Interface
	mapper   meta.ResettableRESTMapper
	// pageSize is the limit of one list request.
	pageSize int64
}

// New builds the client of one cluster; it does no request.
func New(cfg Config) (*Client, error) {
	if cfg.Name == "" {
		return nil, errors.New("name: required")
	}
	if !strings.HasPrefix(cfg.URL, "https://") && !strings.HasPrefix(cfg.URL, "http://") {
		return nil, fmt.Errorf("url: %q is not an http(s) URL", cfg.URL)
	}
	switch cfg.Kind {
	case "":
		cfg.Kind = KindKubernetes
	case KindOpenShift, KindKubernetes:
	default:
		return nil, fmt.Errorf("kind: %q is neither openshift nor kubernetes", cfg.Kind)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 3
	}
	rc := &rest.Config{
		Host:        cfg.URL,
		BearerToken: cfg.Token,
		Timeout:     cfg.Timeout,
		UserAgent:   "atrium",
		QPS:         cfg.QPS,
		Burst:       cfg.Burst,
	}
	if rc.QPS <= 0 {
		rc.QPS, rc.Burst = 20, 40
	}
	if cfg.Transport != nil {
		rc.Transport = cfg.Transport
	} else {
		rc.TLSClientConfig = rest.TLSClientConfig{CAData: cfg.CAData}
	}
	if cfg.BreakerThreshold == 0 {
		cfg.BreakerThreshold = 5
	}
	if cfg.BreakerCooldown <= 0 {
		cfg.BreakerCooldown = 30 * time.Second
	}
	retries := cfg.MaxRetries
	br := breaker.New("Kubernetes cluster "+cfg.Name, cfg.BreakerThreshold, cfg.BreakerCooldown)
	rc.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return &breakerTransport{next: &retryTransport{next: rt, max: retries}, b: br}
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	disc, err := discovery.NewDiscoveryClientForConfig(rc)
	if err != nil {
		return nil, err
	}
	c := NewFromInterfaces(cfg.Name, cfg.Kind, cfg.URL, dyn, disc)
	// Watches stream for minutes: their client has no request timeout
	// (the informers ask the server to end them, timeoutSeconds).
	wrc := rest.CopyConfig(rc)
	wrc.Timeout = 0
	if c.watchDyn, err = dynamic.NewForConfig(wrc); err != nil {
		return nil, err
	}
	if cfg.PageSize > 0 {
		c.pageSize = cfg.PageSize
	}
	return c, nil
}

// NewFromInterfaces builds a client over given client-go interfaces
// (client-go's fakes in tests).
func NewFromInterfaces(name, kind, url string, dyn dynamic.Interface, disc discovery.DiscoveryInterface) *Client {
	return &Client{
		name: name, kind: kind, url: url, dyn: dyn, watchDyn: dyn, disc: disc, pageSize: PageSize,
		mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc)),
	}
}

// Name is the cluster's name.
func (c *Client) Name() string { return c.name }

// Kind is openshift or kubernetes.
func (c *Client) Kind() string { return c.kind }

// URL is the API server's URL.
func (c *Client) URL() string { return c.url }

// OpenShift reports whether the cluster is OpenShift.
func (c *Client) OpenShift() bool { return c.kind == KindOpenShift }

// Dynamic is the underlying dynamic client.
func (c *Client) Dynamic() dynamic.Interface { return c.dyn }

// The OpenShift and OLM resources used, as unstructured objects.
var (
	GVRNamespace       = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	GVRPod             = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	GVRService         = schema.GroupVersionResource{Version: "v1", Resource: "services"}
	GVRDeployment      = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	GVRRoute           = schema.GroupVersionResource{Group: "route.openshift.io", Version: "v1", Resource: "routes"}
	GVRProject         = schema.GroupVersionResource{Group: "project.openshift.io", Version: "v1", Resource: "projects"}
	GVRProjectRequest  = schema.GroupVersionResource{Group: "project.openshift.io", Version: "v1", Resource: "projectrequests"}
	GVROperatorGroup   = schema.GroupVersionResource{Group: "operators.coreos.com", Version: "v1", Resource: "operatorgroups"}
	GVRSubscription    = schema.GroupVersionResource{Group: "operators.coreos.com", Version: "v1alpha1", Resource: "subscriptions"}
	GVRInstallPlan     = schema.GroupVersionResource{Group: "operators.coreos.com", Version: "v1alpha1", Resource: "installplans"}
	GVRClusterSvcVersn = schema.GroupVersionResource{Group: "operators.coreos.com", Version: "v1alpha1", Resource: "clusterserviceversions"}
)

// StatusOf is the HTTP status of an API error (0 when err is not one).
func StatusOf(err error) int {
	var st apierrors.APIStatus
	if errors.As(err, &st) {
		return int(st.Status().Code)
	}
	return 0
}

// Describe renders an API error for a user: what the cluster answered and
// what to do about it.
func (c *Client) Describe(err error) string {
	code := StatusOf(err)
	msg := err.Error()
	switch code {
	case 401:
		return fmt.Sprintf("cluster %s refused the token (401 Unauthorized): check the token in plugins.openshift.config.clusters", c.name)
	case 403:
		return fmt.Sprintf("cluster %s forbids it (403): %s; grant the service account the permission", c.name, msg)
	case 429:
		return fmt.Sprintf("cluster %s is throttling requests (429) and kept doing so after retries: %s", c.name, msg)
	}
	if errors.Is(err, ErrCircuitOpen) {
		return fmt.Sprintf("cluster %s is not asked for now: %s (it failed repeatedly; see the earlier errors)", c.name, msg)
	}
	if code >= 500 {
		return fmt.Sprintf("cluster %s failed (%d): %s; retry later", c.name, code, msg)
	}
	if code == 0 && !errors.Is(err, context.Canceled) {
		return fmt.Sprintf("cluster %s (%s) cannot be reached: %s", c.name, c.url, msg)
	}
	return fmt.Sprintf("cluster %s: %s", c.name, msg)
}

// retryTransport retries reads answered 502, 503 or 504 with a short
// backoff; client-go retries 429 (and 5xx with Retry-After) itself.
type retryTransport struct {
	next http.RoundTripper
	max  int
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	wait := 100 * time.Millisecond
	for attempt := 0; ; attempt++ {
		res, err := t.next.RoundTrip(req)
		if err != nil || req.Method != http.MethodGet || attempt >= t.max || res.Header.Get("Retry-After") != "" ||
			(res.StatusCode != 502 && res.StatusCode != 503 && res.StatusCode != 504) {
			return res, err
		}
		res.Body.Close()
		select {
		case <-req.Context().Done():
			return nil, req.Context().Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
}
