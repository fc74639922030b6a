package registry

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/openairgap/terraform-provider-airgap/internal/bundle"
	"github.com/openairgap/terraform-provider-airgap/internal/sample"
	"github.com/openairgap/terraform-provider-airgap/internal/signing"
	distribution "github.com/openairgap/terraform-provider-airgap/test/registry"
)

// Every behaviour runs against two registries: go-containerregistry's in-process one (fast, and
// it neither mounts nor scopes blobs per repository) and the real CNCF Distribution program
// (which does both, and checks every manifest's blobs).

// sampleLayerSize makes the base layer three chunks long, so streams cross chunk boundaries.
const sampleLayerSize = 3 << 20

var created = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// target is a registry under test.
type target struct {
	backend string
	host    string
	restart func(t testing.TB) // nil when the backend cannot restart
	stop    func()
}

type backend struct {
	name  string
	start func(t *testing.T) target
}

var backends = []backend{
	{"ggcr", func(t *testing.T) target {
		srv := httptest.NewServer(ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0))))
		t.Cleanup(srv.Close)
		return target{backend: "ggcr", host: strings.TrimPrefix(srv.URL, "http://")}
	}},
	{"distribution", func(t *testing.T) target {
		r := distribution.Start(t)
		return target{backend: "distribution", host: r.Host, restart: r.Restart, stop: r.Stop}
	}},
}

func forEachBackend(t *testing.T, test func(t *testing.T, reg target)) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) { test(t, be.start(t)) })
	}
}

// The sample bundle is built once per test binary; tests that change it work on a copy.
var sampleOnce struct {
	sync.Once
	images []sample.Image
	path   string
	policy signing.Policy
	err    error
}

// sampleBundle builds (once) a signed bundle of the sample images: two two-platform indexes and
// one single-platform image, all sharing a base layer.
func sampleBundle(t *testing.T) (string, signing.Policy) {
	t.Helper()
	sampleOnce.Do(func() {
		sampleOnce.images, sampleOnce.err = sample.Set(sampleLayerSize)
		if sampleOnce.err == nil {
			sampleOnce.path, sampleOnce.policy, sampleOnce.err = buildSample(sampleOnce.images)
		}
	})
	if sampleOnce.err != nil {
		t.Fatal(sampleOnce.err)
	}
	return sampleOnce.path, sampleOnce.policy
}

// sampleImages are the images the sample bundle holds.
func sampleImages(t *testing.T) []sample.Image {
	t.Helper()
	sampleBundle(t)
	return sampleOnce.images
}

func buildSample(images []sample.Image) (string, signing.Policy, error) {
	srv := httptest.NewServer(ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	refs, err := sample.Push(strings.TrimPrefix(srv.URL, "http://"), images)
	if err != nil {
		return "", signing.Policy{}, err
	}
	privPEM, pubPEM, err := signing.GenerateKeyPair([]byte("pw"))
	if err != nil {
		return "", signing.Policy{}, err
	}
	priv, err := signing.LoadPrivateKey(privPEM, []byte("pw"))
	if err != nil {
		return "", signing.Policy{}, err
	}
	pub, err := signing.ParsePublicKey(pubPEM)
	if err != nil {
		return "", signing.Policy{}, err
	}
	spec := bundle.Spec{Name: "mirror-test", Version: "1", Created: created, Output: filepath.Join(sampleDir, "sample.tar")}
	for _, r := range refs {
		spec.Images = append(spec.Images, bundle.ImageSpec{Ref: r})
	}
	if _, err := bundle.Build(context.Background(), spec, bundle.BuildOptions{Keys: []bundle.SigningKey{{Signer: priv}}}); err != nil {
		return "", signing.Policy{}, err
	}
	policy := signing.Policy{Keys: []signing.TrustedKey{{Name: "test", Key: pub}}, Now: func() time.Time { return created.Add(time.Hour) }}
	return spec.Output, policy, nil
}

var sampleDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "airgap-registry-test-")
	if err != nil {
		log.Fatal(err)
	}
	sampleDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// openSample opens the sample bundle, verified as the provider would before Mirror.
func openSample(t *testing.T) *bundle.Bundle {
	t.Helper()
	path, policy := sampleBundle(t)
	return openVerified(t, path, policy)
}

func openVerified(t *testing.T, path string, policy signing.Policy) *bundle.Bundle {
	t.Helper()
	b, err := bundle.Open(path, policy)
	must(t, err)
	t.Cleanup(func() { b.Close() })
	must(t, b.VerifyPayload(context.Background()))
	return b
}

// copySample copies the sample bundle for a test that changes it.
func copySample(t *testing.T) (string, signing.Policy) {
	t.Helper()
	path, policy := sampleBundle(t)
	data, err := os.ReadFile(path)
	must(t, err)
	out := filepath.Join(t.TempDir(), "bundle.tar")
	must(t, os.WriteFile(out, data, 0o644))
	return out, policy
}

// counter counts the requests that reach the registry, by kind and by host, and can act on a
// request once it has been answered.
type counter struct {
	inner   http.RoundTripper
	mu      sync.Mutex
	counts  map[string]int
	hosts   map[string]int
	schemes map[string]int
	after   func(r *http.Request, resp *http.Response)
}

func newCounter() *counter {
	return &counter{inner: http.DefaultTransport.(*http.Transport).Clone(), counts: map[string]int{}, hosts: map[string]int{}, schemes: map[string]int{}}
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.counts[requestKind(r)]++
	c.hosts[r.URL.Host]++
	c.schemes[r.URL.Scheme]++
	after := c.after
	c.mu.Unlock()
	resp, err := c.inner.RoundTrip(r)
	if after != nil && err == nil {
		after(r, resp)
	}
	return resp, err
}

func (c *counter) setAfter(f func(r *http.Request, resp *http.Response)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.after = f
}

// requestKind classifies a request: "blob write" is any POST, PUT or PATCH on blobs (what a
// re-apply must never send), "blob put" the commits among them, "manifest put", "head", ...
func requestKind(r *http.Request) string {
	blobs := strings.Contains(r.URL.Path, "/blobs/")
	switch {
	case blobs && r.Method == http.MethodPut:
		return "blob put"
	case blobs && (r.Method == http.MethodPost || r.Method == http.MethodPatch):
		return "blob write"
	case strings.Contains(r.URL.Path, "/manifests/") && r.Method == http.MethodPut:
		return "manifest put"
	case r.Method == http.MethodHead:
		return "head"
	}
	return strings.ToLower(r.Method)
}

func (c *counter) get(kind string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[kind]
}

func (c *counter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts, c.hosts, c.schemes = map[string]int{}, map[string]int{}, map[string]int{}
}

func (c *counter) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.counts {
		n += v
	}
	return n
}

// blobWrites counts every request that sends or commits a blob.
func (c *counter) blobWrites() int { return c.get("blob put") + c.get("blob write") }

// assertMirrored pulls every image back by its mirrored reference: the digests are the BOM's,
// each platform's manifest is there, every blob is present and hashes to its digest, and the tag
// points at the image.
func assertMirrored(t *testing.T, b *bundle.Bundle, res *Result) {
	t.Helper()
	if len(res.Images) != len(b.BOM.Images) {
		t.Fatalf("result lists %d images, the BOM %d", len(res.Images), len(b.BOM.Images))
	}
	for i, img := range b.BOM.Images {
		mi := res.Images[i]
		if mi.Ref != img.Ref || mi.Digest != img.Digest || !strings.HasSuffix(mi.Mirrored, "@"+img.Digest) {
			t.Fatalf("image %d: result %+v does not match the BOM's %s@%s", i, mi, img.Ref, img.Digest)
		}
		ref, err := name.ParseReference(mi.Mirrored)
		must(t, err)
		desc, err := remote.Get(ref)
		must(t, err)
		if desc.Digest.String() != img.Digest {
			t.Fatalf("%s serves %s, the BOM says %s", mi.Mirrored, desc.Digest, img.Digest)
		}
		if desc.MediaType.IsIndex() {
			idx, err := desc.ImageIndex()
			must(t, err)
			must(t, validate.Index(idx))
			im, err := idx.IndexManifest()
			must(t, err)
			if len(im.Manifests) != len(img.Platforms) {
				t.Fatalf("%s has %d platforms, the BOM %d", mi.Mirrored, len(im.Manifests), len(img.Platforms))
			}
			for j, m := range im.Manifests {
				if m.Digest.String() != img.Platforms[j].Digest {
					t.Fatalf("%s platform %d is %s, the BOM says %s", mi.Mirrored, j, m.Digest, img.Platforms[j].Digest)
				}
			}
		} else {
			im, err := desc.Image()
			must(t, err)
			must(t, validate.Image(im))
		}
		tag, err := name.ParseReference(mi.Tagged)
		must(t, err)
		td, err := remote.Head(tag)
		must(t, err)
		if td.Digest.String() != img.Digest {
			t.Fatalf("%s points at %s, not %s", mi.Tagged, td.Digest, img.Digest)
		}
	}
}

func plainTarget(host string, c *counter) Target {
	t := Target{Host: host, PlainHTTP: true}
	if c != nil {
		t.Transport = c
	}
	return t
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// testClient talks to a plain-HTTP test registry the way the engine does.
func testClient(t *testing.T, host string) *client {
	t.Helper()
	c, err := newClient(context.Background(), Target{Host: host, PlainHTTP: true}, nil, scopeDelete, DefaultJobs)
	must(t, err)
	t.Cleanup(c.close)
	return c
}

func mustPlan(t *testing.T, b *bundle.Bundle, host string) *plan {
	t.Helper()
	p, err := newPlan(b.BOM, Target{Host: host})
	must(t, err)
	return p
}

type tlsRegistry struct {
	host      string
	transport http.RoundTripper
}

// newTLSRegistry is an in-process registry behind https, with a transport that trusts it.
func newTLSRegistry(t *testing.T) tlsRegistry {
	srv := httptest.NewTLSServer(ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return tlsRegistry{host: strings.TrimPrefix(srv.URL, "https://"), transport: srv.Client().Transport}
}
