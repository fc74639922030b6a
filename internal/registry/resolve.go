package registry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/openairgap/terraform-provider-airgap/internal/bundle"
)

// Resolver is the layered registry resolver: the cluster-local registry first, then the
// configured fallbacks in order, then fail closed. There is no public default: a reference is
// only ever looked up in Local and Fallbacks, whatever registry it names, and an empty Fallbacks
// means the local registry alone.
//
// The local registry holds only what Mirror put there from verified bundles. A fallback is
// trusted no further than the signed BOMs: an image it serves must have a digest in Trusted, or
// it is refused.
type Resolver struct {
	Local     Target
	Fallbacks []Target // opt-in; each with its own credentials
	Trusted   map[string]bool
	// Logger receives one line per resolution naming the layer that satisfied it, so that an
	// operator can audit where every image came from.
	Logger Logger

	mu      sync.Mutex
	clients map[int]*client // by layer: 0 is Local, i+1 is Fallbacks[i]
	logMu   sync.Mutex
}

// Resolution is where an image was found.
type Resolution struct {
	Ref    string // host/repository@digest in the layer that satisfied the request
	Layer  string // "local" or "fallback:<host>"
	Digest string
}

// ErrUnresolved is a reference that no layer could satisfy: the resolver failed closed.
var ErrUnresolved = errors.New("image not found in the local registry nor in any configured fallback")

// TrustedDigests collects the digests that verified BOMs vouch for: every image's manifest or
// index and every platform's manifest.
func TrustedDigests(boms ...*bundle.BOM) map[string]bool {
	out := map[string]bool{}
	for _, b := range boms {
		for _, img := range b.Images {
			out[img.Digest] = true
			for _, p := range img.Platforms {
				out[p.Digest] = true
			}
		}
	}
	return out
}

// Resolve finds ref (a tag or digest reference; the registry it names is never contacted, only
// its repository path is used) in the local registry, then in each fallback in order.
func (r *Resolver) Resolve(ctx context.Context, ref string) (Resolution, error) {
	parsed, err := name.ParseReference(ref)
	if err != nil {
		return Resolution{}, fmt.Errorf("image %q: %w", ref, err)
	}
	path := parsed.Context().RepositoryStr()
	var reasons []string
	for layer := 0; layer <= len(r.Fallbacks); layer++ {
		t, label := r.layer(layer)
		res, reason, err := r.lookup(ctx, layer, t, path, parsed.Identifier())
		var fe *FieldError
		if err != nil && (ctx.Err() != nil || errors.As(err, &fe)) {
			return Resolution{}, fmt.Errorf("resolving %s through %s: %w", ref, label, err)
		}
		if err != nil {
			reason = err.Error() // an unreachable layer is a miss: the next one may have it
		}
		if reason == "" {
			res.Layer = label
			r.log("image resolved", map[string]any{"image": ref, "layer": label, "resolved": res.Ref, "digest": res.Digest})
			return res, nil
		}
		reasons = append(reasons, label+" ("+t.Host+"): "+reason)
		r.log("image not resolved by layer", map[string]any{"image": ref, "layer": label, "reason": reason})
	}
	r.log("image unresolved: failing closed", map[string]any{"image": ref, "layers": len(reasons)})
	return Resolution{}, fmt.Errorf("%w: %s: %s; no other registry is consulted", ErrUnresolved, ref, strings.Join(reasons, "; "))
}

func (r *Resolver) layer(i int) (Target, string) {
	if i == 0 {
		return r.Local, "local"
	}
	t := r.Fallbacks[i-1]
	return t, "fallback:" + t.Host
}

// lookup asks one layer for the reference; reason is why the layer does not satisfy it ("" when
// it does).
func (r *Resolver) lookup(ctx context.Context, layer int, t Target, path, id string) (Resolution, string, error) {
	repo, err := t.repositoryPath(path)
	if err != nil {
		return Resolution{}, "", err
	}
	c, err := r.client(ctx, layer, t, repo)
	if err != nil {
		return Resolution{}, "", err
	}
	d, err := c.manifestDigest(ctx, repo, id)
	if err != nil {
		return Resolution{}, "", err
	}
	switch {
	case d == "":
		return Resolution{}, "not found", nil
	case isDigest(id) && d != id:
		return Resolution{}, fmt.Sprintf("asked for %s, served %s", id, d), nil
	case layer > 0 && !r.Trusted[d]:
		return Resolution{}, fmt.Sprintf("serves %s, which no verified BOM lists: refused", d), nil
	}
	return Resolution{Ref: t.Host + "/" + repo + "@" + d, Digest: d}, "", nil
}

// client builds each layer's client once; later repositories get their token scope from the
// registry's challenge.
func (r *Resolver) client(ctx context.Context, layer int, t Target, repo string) (*client, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.clients[layer]; ok {
		return c, nil
	}
	c, err := newClient(ctx, t, []string{repo}, scopePull, DefaultJobs)
	if err != nil {
		return nil, err
	}
	if r.clients == nil {
		r.clients = map[int]*client{}
	}
	r.clients[layer] = c
	return c, nil
}

// Close releases the resolver's idle connections.
func (r *Resolver) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.clients {
		c.close()
	}
	r.clients = nil
}

func (r *Resolver) log(msg string, fields map[string]any) {
	if r.Logger != nil {
		r.logMu.Lock()
		defer r.logMu.Unlock()
		r.Logger(msg, fields)
	}
}
