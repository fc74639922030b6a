package deploy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/openairgap/terraform-provider-airgap/internal/inject"
)

// Bootstrap says how a registry gets its own image.
type Bootstrap struct {
	// Seed is the registry's image as a node can pull it before the registry exists, from an
	// injection: "127.0.0.1:31998/openairgap/registry@sha256:...". Empty when the registry is
	// already running (an upgrade): then Self is pushed into it directly.
	Seed string
	// Self is the same image in the registry itself: "127.0.0.1:31999/openairgap/registry@sha256:...".
	Self string
	// Push copies the registry's image (and whatever else the caller wants there) into the
	// registry at PushEndpoint.
	Push func(ctx context.Context) error
	// PushEndpoint is where Push reaches the registry; empty: the registry's Endpoint (the
	// provider runs on a node).
	PushEndpoint string
	// Injection, when set, is retired once the registry runs its own image: its objects are
	// removed and the Deployment records it (AnnotationRetiredInjection).
	Injection *Injection
	// HTTPClient checks that the registry answers before pushing; nil: a client without proxy.
	HTTPClient *http.Client
}

// Injection names the injection a registry was seeded from.
type Injection struct{ Namespace, Name, PayloadDigest string }

func (i Injection) String() string { return i.Namespace + "/" + i.Name + "@" + i.PayloadDigest }

// Phases of Install, with how long each took.
type Timing struct {
	Seeded   time.Duration // the registry's first pod ready, on the seed's image
	Pushed   time.Duration // its image pushed into itself
	Switched time.Duration // rolled out on its own image
	Retired  time.Duration // the injection removed
}

// Install brings up registry r on its own image: Preflight; the objects, with the Deployment on
// b.Seed; b.Push into the running registry; the Deployment switched to b.Self (the new pod
// pulls from the old one, which only then stops); the injection retired. A failure on a
// registry that did not exist before removes what Install created (but never data in a bucket).
// r.Image is ignored.
func Install(ctx context.Context, cs kubernetes.Interface, r Registry, b Bootstrap) (st *State, timing Timing, err error) {
	r.Image = b.Self
	if r, err = r.WithDefaults(); err != nil {
		return nil, timing, fmt.Errorf("registry: %w", err)
	}
	if b.Push == nil {
		return nil, timing, errors.New("registry bootstrap: nothing pushes the registry's image")
	}
	if b.PushEndpoint == "" {
		b.PushEndpoint = r.Endpoint()
	}
	if b.HTTPClient == nil {
		b.HTTPClient = &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 10 * time.Second}
	}
	before, err := Status(ctx, cs, r.Namespace, r.Name)
	if err != nil {
		return nil, timing, err
	}
	if err := Preflight(ctx, cs, r); err != nil {
		return nil, timing, err
	}
	if !before.Exists() {
		if b.Seed == "" {
			return nil, timing, fmt.Errorf("registry %s/%s does not exist yet and there is no injection to pull its image from: give it one", r.Namespace, r.Name)
		}
		defer func() {
			if err == nil {
				return
			}
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
			defer cancel()
			if rerr := Remove(cctx, cs, r.Namespace, r.Name, false); rerr != nil {
				err = errors.Join(err, fmt.Errorf("cleaning up after the failure: %w", rerr))
			}
		}()
	}

	start := time.Now()
	if b.Seed != "" && !(before.Serving() && before.Image == b.Self) {
		seeded := r
		seeded.Image = b.Seed
		if err := apply(ctx, cs, seeded, ""); err != nil {
			return nil, timing, err
		}
		if err := waitRollout(ctx, cs, seeded); err != nil {
			return nil, timing, fmt.Errorf("starting the registry on the injector's image: %w", err)
		}
	}
	timing.Seeded = time.Since(start)

	start = time.Now()
	if err := WaitServing(ctx, b.HTTPClient, b.PushEndpoint, time.Minute); err != nil {
		return nil, timing, err
	}
	if err := b.Push(ctx); err != nil {
		return nil, timing, fmt.Errorf("pushing the registry's image into it at %s: %w%s", b.PushEndpoint, err, registryLog(ctx, cs, r))
	}
	timing.Pushed = time.Since(start)

	start = time.Now()
	retired := ""
	if b.Injection != nil {
		retired = b.Injection.String()
	}
	if err := apply(ctx, cs, r, retired); err != nil {
		return nil, timing, err
	}
	if err := waitRollout(ctx, cs, r); err != nil {
		return nil, timing, fmt.Errorf("switching the registry to its own image: %w", err)
	}
	timing.Switched = time.Since(start)

	if b.Injection != nil {
		start = time.Now()
		if err := inject.Remove(ctx, cs, b.Injection.Namespace, b.Injection.Name); err != nil {
			return nil, timing, fmt.Errorf("retiring injection %s/%s: %w", b.Injection.Namespace, b.Injection.Name, err)
		}
		timing.Retired = time.Since(start)
	}
	st, err = Status(ctx, cs, r.Namespace, r.Name)
	return st, timing, err
}

// Preflight checks, before anything is created, what the registry needs from the cluster: its
// NodePort free (or already its own), and for volume storage a StorageClass to bind the claim.
func Preflight(ctx context.Context, cs kubernetes.Interface, r Registry) error {
	r, err := r.WithDefaults()
	if err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	var errs []error
	svcs, err := cs.CoreV1().Services("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("registry preflight: listing services to check node port %d: %w", r.NodePort, err)
	}
	for _, s := range svcs.Items {
		if s.Namespace == r.Namespace && s.Name == r.Name {
			continue
		}
		for _, p := range s.Spec.Ports {
			if p.NodePort == r.NodePort {
				errs = append(errs, fmt.Errorf("node port %d is taken by service %s/%s: free it, or give the registry another node_port (and containerd on every node plain-HTTP access to 127.0.0.1 on it)", r.NodePort, s.Namespace, s.Name))
			}
		}
	}
	if v := r.Storage.Volume; v != nil {
		if err := checkStorageClass(ctx, cs, v.StorageClass); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("registry preflight: %w", err)
	}
	return nil
}

func checkStorageClass(ctx context.Context, cs kubernetes.Interface, name string) error {
	scs := cs.StorageV1().StorageClasses()
	if name != "" {
		_, err := scs.Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return fmt.Errorf("storage class %q does not exist: name one that does (kubectl get storageclass), or use s3 storage", name)
		case apierrors.IsForbidden(err):
			return nil // the claim will tell
		}
		return err
	}
	list, err := scs.List(ctx, metav1.ListOptions{})
	if apierrors.IsForbidden(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("listing storage classes: %w", err)
	}
	for _, sc := range list.Items {
		if sc.Annotations["storageclass.kubernetes.io/is-default-class"] == "true" {
			return nil
		}
	}
	return errors.New("the cluster has no default storage class, so the registry's volume claim would never bind: name a storage_class, or use s3 storage")
}

// registryLog is the end of the log of the registry's pods, to explain a failed request.
func registryLog(ctx context.Context, cs kubernetes.Interface, r Registry) string {
	pods, err := cs.CoreV1().Pods(r.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector(r.Name)})
	if err != nil {
		return ""
	}
	var b strings.Builder
	for i := range pods.Items {
		if l := podLog(ctx, cs, &pods.Items[i]); l != "" {
			fmt.Fprintf(&b, "; pod %s %s", pods.Items[i].Name, l)
		}
	}
	return b.String()
}
