package inject

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Payload is what an injection delivers: the images the injector serves, written by WritePayload
// while they are uploaded (never held in memory whole), and the injector program itself.
type Payload struct {
	Images []PayloadImage
	// Injectors holds the static injector built for each architecture, by GOARCH ("amd64").
	Injectors map[string][]byte
	// Digest, when set, is the payload digest the caller expects (from a plan): Inject fails if
	// the images now give another one.
	Digest string
}

// Seed is a running injection: the registry the kubelet of every node can pull from.
type Seed struct {
	Endpoint         string // "127.0.0.1:31998": an image is Endpoint + "/" + repository + ":" + tag
	Namespace, Name  string
	Node             string
	Architecture     string
	Image            string // the borrowed image the injector runs in
	PayloadDigest    string
	PayloadSize      int64
	Chunks           int
	CreatedNamespace bool
	Objects          []ObjectRef // everything created, namespace first
	Notes            []string    // Preflight's assumptions
	UploadTook       time.Duration
	ReadyTook        time.Duration // from creating the pod to a ready Service endpoint
}

// removeTimeout bounds the clean-up after a failure, which runs even when ctx is cancelled
// (an interrupted apply must not leave a half injection behind).
const removeTimeout = 2 * time.Minute

// Inject runs Preflight, then creates the namespace if missing, the injector binary and the
// payload chunks as ConfigMaps, the NodePort Service and the injector pod, and waits until the
// injector serves. Any failure after Preflight removes everything created so far.
func Inject(ctx context.Context, cs kubernetes.Interface, req Request, payload Payload) (seed *Seed, err error) {
	req, err = req.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("injection request: %w", err)
	}
	if req.Architectures, err = injectorArchitectures(req.Architectures, payload.Injectors); err != nil {
		return nil, err
	}
	p, err := Preflight(ctx, cs, req)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err == nil {
			return
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), removeTimeout)
		defer cancel()
		if rerr := Remove(cctx, cs, req.Namespace, req.Name); rerr != nil {
			err = errors.Join(err, fmt.Errorf("cleaning up after the failure: %w", rerr))
		}
	}()
	seed = &Seed{
		Endpoint: "127.0.0.1:" + strconv.Itoa(int(req.NodePort)), Namespace: req.Namespace, Name: req.Name,
		Node: p.Node, Architecture: p.Architecture, Image: p.Image, Notes: p.Notes,
	}
	if seed.CreatedNamespace, err = ensureNamespace(ctx, cs, req); err != nil {
		return nil, err
	}
	if err := createConfigMap(ctx, cs, req.binaryConfigMap(payload.Injectors[p.Architecture])); err != nil {
		return nil, err
	}
	up, err := req.uploadChunks(ctx, cs, payload.Images)
	if err != nil {
		return nil, err
	}
	if payload.Digest != "" && payload.Digest != up.digest {
		return nil, fmt.Errorf("the images now make payload %s, not %s as planned: an image changed since the plan; plan again", up.digest, payload.Digest)
	}
	seed.PayloadDigest, seed.PayloadSize, seed.Chunks, seed.UploadTook = up.digest, up.size, up.chunks, up.took
	if req.beforePod != nil {
		if err := req.beforePod(ctx); err != nil {
			return nil, err
		}
	}
	if _, err := cs.CoreV1().Services(req.Namespace).Create(ctx, req.service(), metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("creating the injector's Service: %w", err)
	}
	start := time.Now()
	pod := req.injectorPod(p, up.digest, up.chunks, up.size)
	if _, err := cs.CoreV1().Pods(req.Namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("creating the injector pod: %w", err)
	}
	if err := req.waitReady(ctx, cs); err != nil {
		return nil, err
	}
	seed.ReadyTook = time.Since(start)
	seed.Objects = req.objects(seed)
	return seed, nil
}

// injectorArchitectures narrows the requested architectures to those the payload has an
// injector for, and checks each binary fits in a ConfigMap.
func injectorArchitectures(requested []string, injectors map[string][]byte) ([]string, error) {
	var have []string
	for _, arch := range slices.Sorted(maps.Keys(injectors)) {
		if n := len(injectors[arch]); n == 0 || n > MaxChunkSize {
			return nil, fmt.Errorf("injector for %s is %d bytes: want 1 to %d (it must fit in one ConfigMap)", arch, n, MaxChunkSize)
		}
		if slices.Contains(requested, arch) {
			have = append(have, arch)
		}
	}
	if len(have) == 0 {
		return nil, fmt.Errorf("the provider has an injector for %v, none of the architectures asked for (%v)", slices.Sorted(maps.Keys(injectors)), requested)
	}
	return have, nil
}

// objects lists what Inject created, in creation order.
func (req Request) objects(seed *Seed) []ObjectRef {
	var refs []ObjectRef
	if seed.CreatedNamespace {
		refs = append(refs, ObjectRef{Kind: "Namespace", Name: req.Namespace})
	}
	refs = append(refs, ObjectRef{"ConfigMap", req.Namespace, req.binaryName()})
	for i := range seed.Chunks {
		refs = append(refs, ObjectRef{"ConfigMap", req.Namespace, req.chunkName(i)})
	}
	return append(refs, ObjectRef{"Service", req.Namespace, req.Name}, ObjectRef{"Pod", req.Namespace, req.Name})
}
