package main

import (
	"net/http"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// randomIndex is a linux/amd64 + linux/arm64 index of random two-layer images (Docker media types).
func randomIndex(t *testing.T) v1.ImageIndex {
	t.Helper()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(256<<10, 2)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture = "linux", arch
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}},
		})
	}
	return idx
}

// pushPull pushes a random index to ref, pulls it back by tag, checks that the digests are
// equal, and reads and checks every manifest, config and layer of the pulled copy.
func pushPull(t *testing.T, ref string, opts ...remote.Option) v1.Hash {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	idx := randomIndex(t)
	want, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(r, idx, opts...); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	pulled, err := remote.Index(r, opts...)
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	got, err := pulled.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("pushed %s, pulled %s", want, got)
	}
	if err := validate.Index(pulled); err != nil {
		t.Fatalf("pulled index: %v", err)
	}
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := remote.Image(r, append(opts, remote.WithPlatform(v1.Platform{OS: "linux", Architecture: arch}))...)
		if err != nil {
			t.Fatalf("pull %s for linux/%s: %v", ref, arch, err)
		}
		if err := validate.Image(img); err != nil {
			t.Fatalf("pulled linux/%s image: %v", arch, err)
		}
	}
	return want
}

// recorder is a transport that keeps every request's host and every response's status.
type recorder struct {
	inner http.RoundTripper
	mu    sync.Mutex
	hosts map[string]int
	codes map[int]int
}

func newRecorder(inner http.RoundTripper) *recorder {
	return &recorder{inner: inner, hosts: map[string]int{}, codes: map[int]int{}}
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.inner.RoundTrip(req)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hosts[req.URL.Host]++
	if resp != nil {
		r.codes[resp.StatusCode]++
	}
	return resp, err
}
