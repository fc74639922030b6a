package workload

import (
	"context"
	"errors"
	"fmt"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/kube"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage"
	"helm.sh/helm/v3/pkg/storage/driver"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// restGetter hands Helm the client's REST configuration and cached discovery: Helm reads no
// kubeconfig file and no environment.
type restGetter struct {
	config    *rest.Config
	discovery discovery.CachedDiscoveryInterface
	namespace string
}

func (g *restGetter) ToRESTConfig() (*rest.Config, error) { return rest.CopyConfig(g.config), nil }

func (g *restGetter) ToDiscoveryClient() (discovery.CachedDiscoveryInterface, error) {
	return g.discovery, nil
}

func (g *restGetter) ToRESTMapper() (meta.RESTMapper, error) {
	return restmapper.NewDeferredDiscoveryRESTMapper(g.discovery), nil
}

// ToRawKubeConfigLoader gives only the namespace; asked for a client configuration it has none,
// which Helm does not ask for: it takes ToRESTConfig.
func (g *restGetter) ToRawKubeConfigLoader() clientcmd.ClientConfig {
	return clientcmd.NewDefaultClientConfig(clientcmdapi.Config{}, &clientcmd.ConfigOverrides{Context: clientcmdapi.Context{Namespace: g.namespace}})
}

// helmKube is Helm's Kubernetes client with this package's readiness wait, which follows the
// caller's context and says why an object is not ready.
type helmKube struct {
	*kube.Client
	ctx    context.Context
	client *Client
	wait   WaitOptions
}

func (k *helmKube) Wait(resources kube.ResourceList, timeout time.Duration) error {
	refs := make([]ObjectRef, 0, len(resources))
	for _, info := range resources {
		gvk := info.Mapping.GroupVersionKind
		refs = append(refs, ObjectRef{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: info.Namespace, Name: info.Name})
	}
	return k.client.WaitReady(k.ctx, refs, WaitOptions{Timeout: timeout, CrashLoopRestarts: k.wait.CrashLoopRestarts})
}

// WaitWithJobs is Wait: Jobs are always waited for.
func (k *helmKube) WaitWithJobs(resources kube.ResourceList, timeout time.Duration) error {
	return k.Wait(resources, timeout)
}

// haltingDriver refuses to write release records once ctx is done. A cancelled apply then
// stops as a killed process would: the release stays pending, and the next apply recovers it
// (Helm would otherwise go on writing, and roll back, after the caller gave up).
type haltingDriver struct {
	driver.Driver
	ctx context.Context
}

var errHalted = errors.New("the apply was cancelled: release records are left as they are")

func (d *haltingDriver) Create(key string, rls *release.Release) error {
	if d.ctx.Err() != nil {
		return errHalted
	}
	return d.Driver.Create(key, rls)
}

func (d *haltingDriver) Update(key string, rls *release.Release) error {
	if d.ctx.Err() != nil {
		return errHalted
	}
	return d.Driver.Update(key, rls)
}

func (d *haltingDriver) Delete(key string) (*release.Release, error) {
	if d.ctx.Err() != nil {
		return nil, errHalted
	}
	return d.Driver.Delete(key)
}

// helmConfig is a Helm action configuration for releases in namespace, stored as Secrets there
// (Helm's default), for one call bound to ctx.
func (c *Client) helmConfig(ctx context.Context, namespace string, wait WaitOptions, maxHistory int) (*action.Configuration, error) {
	if c.config == nil {
		return nil, errors.New("Helm needs a client built by NewClient")
	}
	getter := &restGetter{config: c.config, discovery: c.discovery, namespace: namespace}
	kc := kube.New(getter)
	kc.Namespace = namespace
	logf := c.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	kc.Log = logf
	secrets := driver.NewSecrets(c.core.CoreV1().Secrets(namespace))
	secrets.Log = logf
	store := storage.Init(&haltingDriver{Driver: secrets, ctx: ctx})
	store.Log = logf
	store.MaxHistory = maxHistory
	return &action.Configuration{
		RESTClientGetter: getter,
		Releases:         store,
		KubeClient:       &helmKube{Client: kc, ctx: ctx, client: c, wait: wait},
		Log:              logf,
	}, nil
}

// interrupted is the error of a call whose context ended while Helm was at work.
func interrupted(ctx context.Context, what string, last *release.Release) error {
	state := "left as it was"
	if last != nil {
		state = fmt.Sprintf("left %s at revision %d", last.Info.Status, last.Version)
	}
	return fmt.Errorf("%s was interrupted (%w); the release is %s, and the next apply recovers it", what, context.Cause(ctx), state)
}
