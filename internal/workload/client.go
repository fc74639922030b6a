package workload

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// Client applies, reads and deletes workloads in one cluster. Build it once per provider
// configuration: it caches the cluster's API discovery.
type Client struct {
	dynamic dynamic.Interface
	core    kubernetes.Interface
	mapper  meta.ResettableRESTMapper
	// config and discovery serve Helm (nil in tests with fake clients).
	config    *rest.Config
	discovery discovery.CachedDiscoveryInterface
	// poll is how often waits look again.
	poll time.Duration
	// Logf receives Helm's progress messages; nil discards them.
	Logf func(format string, args ...any)
}

// NewClient builds a client from a REST configuration (see internal/kube). Nothing is sent to
// the API server until the first call.
func NewClient(rc *rest.Config) (*Client, error) {
	// The dynamic client speaks JSON whatever rc.ContentType says; the clientset may use protobuf.
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes dynamic client: %w", err)
	}
	core, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes discovery client: %w", err)
	}
	cached := memory.NewMemCacheClient(disc)
	c := newClient(dyn, core, restmapper.NewDeferredDiscoveryRESTMapper(cached))
	c.config, c.discovery = rest.CopyConfig(rc), cached
	return c, nil
}

func newClient(dyn dynamic.Interface, core kubernetes.Interface, mapper meta.ResettableRESTMapper) *Client {
	return &Client{dynamic: dyn, core: core, mapper: mapper, poll: time.Second}
}

// mapping finds the resource that serves ref's kind. A kind the cached discovery does not know
// (a CRD created since) is looked up again once.
func (c *Client) mapping(ref ObjectRef) (*meta.RESTMapping, error) {
	gk := schema.GroupKind{Group: ref.Group, Kind: ref.Kind}
	m, err := c.mapper.RESTMapping(gk, ref.Version)
	if meta.IsNoMatchError(err) {
		c.mapper.Reset()
		m, err = c.mapper.RESTMapping(gk, ref.Version)
	}
	if meta.IsNoMatchError(err) {
		return nil, fmt.Errorf("the cluster serves no kind %s in %s (is its CustomResourceDefinition installed?): %w", ref.Kind, ref.GroupVersionKind().GroupVersion(), err)
	}
	return m, err
}

// resource is the client for ref's kind in ref's namespace.
func (c *Client) resource(ref ObjectRef) (dynamic.ResourceInterface, error) {
	m, err := c.mapping(ref)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return c.dynamic.Resource(m.Resource).Namespace(ref.Namespace), nil
	}
	return c.dynamic.Resource(m.Resource), nil
}

// get reads the live object ref names.
func (c *Client) get(ctx context.Context, ref ObjectRef) (*unstructured.Unstructured, error) {
	r, err := c.resource(ref)
	if err != nil {
		return nil, err
	}
	return r.Get(ctx, ref.Name, metav1.GetOptions{})
}
