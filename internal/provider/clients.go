package provider

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/openairgap/terraform-provider-airgap/internal/bundle"
	"github.com/openairgap/terraform-provider-airgap/internal/kube"
	"github.com/openairgap/terraform-provider-airgap/internal/objstore"
	"github.com/openairgap/terraform-provider-airgap/internal/workload"
)

// S3EndpointEnv overrides the object store's endpoint, ahead of configuration and discovery, so
// an operator can point at a port-forward during an incident (seed 002).
const S3EndpointEnv = "AIRGAP_S3_ENDPOINT"

// clients holds the heavy clients, built on first use from the configuration Configure read:
// a cluster created earlier in the same apply is reachable by then.
type clients struct {
	mu         sync.Mutex
	kube       kubernetes.Interface
	rest       *rest.Config
	workload   *workload.Client
	discoverer *objstore.Discoverer
}

func (d *providerData) kubeClient() (kubernetes.Interface, error) {
	d.clients.mu.Lock()
	defer d.clients.mu.Unlock()
	if d.clients.kube != nil {
		return d.clients.kube, nil
	}
	var path, context string
	if k := d.config.Kubernetes; k != nil {
		path, context = k.Kubeconfig.ValueString(), k.Context.ValueString()
	}
	kc, rc, err := kube.Clients(kube.Config{Kubeconfig: path, Context: context})
	if err != nil {
		return nil, fmt.Errorf("connecting to Kubernetes (set the provider's kubernetes.kubeconfig when not running in the cluster): %w", err)
	}
	d.clients.kube, d.clients.rest = kc, rc
	return kc, nil
}

// kube is kubeClient for CRUD methods: a failure becomes the diagnostic every resource gives.
func (d *providerData) kube(diags *diag.Diagnostics) kubernetes.Interface {
	cs, err := d.kubeClient()
	if err != nil {
		diags.AddError("No Kubernetes connection", err.Error())
	}
	return cs
}

// workloads is workloadClient for CRUD methods, as kube is.
func (d *providerData) workloads(diags *diag.Diagnostics) *workload.Client {
	wc, err := d.workloadClient()
	if err != nil {
		diags.AddError("No Kubernetes connection", err.Error())
	}
	return wc
}

// workloadClient is the client that applies manifests and Helm releases.
func (d *providerData) workloadClient() (*workload.Client, error) {
	if _, err := d.kubeClient(); err != nil {
		return nil, err
	}
	d.clients.mu.Lock()
	defer d.clients.mu.Unlock()
	if d.clients.workload == nil {
		wc, err := workload.NewClient(d.clients.rest)
		if err != nil {
			return nil, err
		}
		d.clients.workload = wc
	}
	return d.clients.workload, nil
}

// objectStore builds the S3 client: the endpoint comes from AIRGAP_S3_ENDPOINT, else the
// configuration, else a Service's named port through the Kubernetes API; never from a default.
func (d *providerData) objectStore(ctx context.Context) (*objstore.Client, error) {
	o := d.config.ObjectStore
	if o == nil {
		return nil, errors.New("s3:// paths need the provider's object_store configuration")
	}
	endpoint := o.Endpoint.ValueString()
	if v := os.Getenv(S3EndpointEnv); v != "" {
		endpoint = v
	} else if endpoint == "" {
		disc, err := d.discoverer()
		if err != nil {
			return nil, err
		}
		if endpoint, err = disc.Endpoint(ctx); err != nil {
			return nil, fmt.Errorf("discovering the object store (status: %s): %w", disc.Status(), err)
		}
	}
	tflog.Info(ctx, "object store endpoint", map[string]any{"endpoint": endpoint, "presign_endpoint": o.PresignEndpoint.ValueString()})
	return objstore.New(objstore.Config{
		Endpoint: endpoint, PresignEndpoint: o.PresignEndpoint.ValueString(),
		AccessKey: o.AccessKey.ValueString(), SecretKey: o.SecretKey.ValueString(),
		Secure: !o.InsecureHTTP.ValueBool(), Region: o.Region.ValueString(), CA: []byte(o.CACertificate.ValueString()),
	})
}

func (d *providerData) discoverer() (*objstore.Discoverer, error) {
	o := d.config.ObjectStore
	if o.Service == nil {
		return nil, fmt.Errorf("the object store has neither an endpoint nor a service to discover it from (or set %s)", S3EndpointEnv)
	}
	kc, err := d.kubeClient()
	if err != nil {
		return nil, err
	}
	d.clients.mu.Lock()
	defer d.clients.mu.Unlock()
	if d.clients.discoverer == nil {
		d.clients.discoverer = &objstore.Discoverer{
			Namespace: o.Service.Namespace.ValueString(), Service: o.Service.Name.ValueString(),
			PortName: o.Service.PortName.ValueString(), EnvOverride: S3EndpointEnv, Kube: kc,
		}
	}
	return d.clients.discoverer, nil
}

// bundleStore says where a bundle path lives: `s3://bucket/key` in the object store, anything
// else on the local filesystem.
func (d *providerData) bundleStore(ctx context.Context, path string) (bundle.Store, string, error) {
	if !objstore.IsURL(path) {
		return bundle.LocalFiles, path, nil
	}
	loc, err := objstore.ParseURL(path)
	if err != nil {
		return nil, "", err
	}
	c, err := d.objectStore(ctx)
	if err != nil {
		return nil, "", err
	}
	return c.Store(loc.Bucket).WithContext(ctx), loc.Key, nil
}

// openBundle verifies a bundle's signatures under the provider's trust and logs each accepted
// signer; no payload byte is read.
func (d *providerData) openBundle(ctx context.Context, p string) (*bundle.Bundle, error) {
	if d == nil || d.trustErr != nil {
		msg := "no trusted key is configured: bundles are never accepted unverified"
		if d != nil {
			msg = d.trustErr.Error()
		}
		return nil, errors.New(msg)
	}
	store, name, err := d.bundleStore(ctx, p)
	if err != nil {
		return nil, err
	}
	b, err := bundle.OpenFrom(store, name, d.trust)
	if err != nil {
		return nil, err
	}
	for _, s := range b.Signers {
		tflog.Info(ctx, "bundle signature accepted", map[string]any{"bundle": p, "signer": s.Name, "fingerprint": s.Fingerprint, "subject": s.Subject})
	}
	return b, nil
}

// fingerprints lists the accepted signers' key fingerprints.
func fingerprints(b *bundle.Bundle) []string {
	out := []string{}
	for _, s := range b.Signers {
		out = append(out, s.Fingerprint)
	}
	return out
}
